"""``python -m conformance record|check|matrix``."""

from __future__ import annotations

import argparse
import sys
import time

from conformance import coverage, suite
from conformance.cases import load_cases


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (("record", "run cases against the real Mistral, write expected/"),
                            ("check", "replay cases against an API, report differences")):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--url", required=True, help="the API's /v2 URL")
        command.add_argument("--only", nargs="*", help="case names or groups (prefixes)")
        command.add_argument("--jobs", type=int, default=6 if name == "record" else 8)
        if name == "check":
            command.add_argument("--summary", metavar="MARKDOWN",
                                 help="write the counts and the deviation table into this file")
            command.add_argument("--database", default="SQLite", help="named in the summary")
    matrix = commands.add_parser("matrix", help="print the coverage matrix; fails on holes")
    matrix.add_argument("--write", action="store_true", help="also write docs/conformance-coverage.md")
    args = parser.parse_args(argv)

    if args.command == "matrix":
        table, holes = coverage.matrix(load_cases())
        print(table)
        if args.write:
            coverage.write(table)
        for hole in holes:
            print(f"HOLE {hole}", file=sys.stderr)
        return 1 if holes else 0
    cases = load_cases(args.only)
    started = time.monotonic()
    if args.command == "record":
        observed = suite.record(args.url, cases, args.jobs)
        failed = [name for name, o in observed.items() if "failed" in o]
        print(f"recorded {len(cases)} cases in {time.monotonic() - started:.0f} s; could not run: {failed}")
        return 1 if failed else 0
    verdicts, deviations = suite.check(args.url, cases, args.jobs)
    text, ok = suite.report(verdicts, deviations, all_cases=not args.only)
    print(text)
    seconds = time.monotonic() - started
    print(f"replayed in {seconds:.0f} s")
    if args.summary:
        suite.write_summary(args.summary, suite.summary(verdicts, deviations, seconds, args.database))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
