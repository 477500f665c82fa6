"""Carry out one case against an API and collect what it observed, normalised.

The observation of a case is a JSON document: the answers to its setup uploads that failed, the
start request, each step's answer, and snapshots of the execution tree (the final one always).
"""

from __future__ import annotations

import json
import time
from typing import Any

import requests
import yaml

from conformance.cases import Case
from conformance.client import TERMINAL, UNSETTLED, Api, CaseFailed
from conformance.normalise import IdBook, normalise, normalise_body

SETTLE_SECONDS = 5.0
JSON_FIELDS = ("input", "output", "params", "published", "runtime_context", "result")


def substitute(text: str, http_url: str) -> str:
    return text.replace("$HTTP", http_url)


class CaseRun:
    def __init__(self, api: Api, case: Case, http_url: str) -> None:
        self.api = api
        self.case = case
        self.http_url = http_url
        self.ids = IdBook(http_url, api.base_url)
        self.execution_id: str | None = None
        self.saved: dict[str, str] = {}
        self.times: dict[str, dict[str, Any]] = {}
        self.observed: dict[str, Any] = {"case": case.name}

    # -- the case ------------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        self._setup()
        if self.case.start is not None:
            self._start(self.case.start)
        steps: list[Any] = []
        for step in self.case.steps:
            (kind, args), = step.items()
            done = getattr(self, f"_step_{kind}")(args)
            if done is not None:
                steps.append(done)
        if steps:
            self.observed["steps"] = steps
        if self.execution_id is not None:
            gone = self.api.call("GET", f"/executions/{self.execution_id}")[0] == 404
            self.observed.setdefault("snapshots", {})["final"] = (
                {"deleted": True} if gone else self._snapshot(self.execution_id, "execution"))
        return self.observed

    def _setup(self) -> None:
        self._clear_leftovers()
        failures = []
        for env in self.case.environments:
            body = {"name": env["name"], "variables": json.dumps(env.get("variables") or {})}
            if env.get("description"):
                body["description"] = env["description"]
            failures.append(("environment", *self.api.call("POST", "/environments", json_body=body)))
        for what, path, text in (("workbook", "/workbooks", self.case.workbook),
                                 ("actions", "/actions", self.case.actions),
                                 ("workflows", "/workflows", self.case.workflows)):
            if text:
                status, body = self.api.call("POST", path, text=substitute(text, self.http_url))
                failures.append((what, status, body))
        bad = [{"what": what, "status": status, "body": normalise_body(body, self.ids)}
               for what, status, body in failures if status >= 300]
        if bad:
            self.observed["setup"] = bad

    def _clear_leftovers(self) -> None:
        """Delete what an earlier run of this case left on the server, so that a second recording
        uploads the same definitions afresh instead of answering 409."""
        for path in _definition_paths(self.case):
            self.api.call("DELETE", path)

    def _start(self, start: dict[str, Any]) -> None:
        body: dict[str, Any] = {"workflow_name": start["workflow"]}
        if "input" in start:
            body["input"] = json.dumps(start["input"]) if not isinstance(start["input"], str) else start["input"]
        if "params" in start:
            body["params"] = json.dumps(start["params"]) if not isinstance(start["params"], str) else start["params"]
        for key in ("description", "workflow_namespace", "source_execution_id"):
            if key in start:
                body[key] = start[key]
        status, answer = self.api.call("POST", "/executions", json_body=body)
        if status == 201 and isinstance(answer, dict):
            self.execution_id = answer["id"]
            self.ids.add(answer["id"], "<execution>")
            self.observed["start"] = {"status": status, "state": answer.get("state")}
        else:
            self.observed["start"] = {"status": status, "body": normalise_body(answer, self.ids)}

    # -- steps ---------------------------------------------------------------------------------

    def _step_wait(self, args: Any) -> dict[str, Any]:
        spec: dict[str, Any] = {"state": args} if isinstance(args, str) else dict(args)
        target = spec.get("state", "terminal")
        if spec.get("task"):
            task = self._wait_task(spec["task"], spec.get("task_state") or target, spec.get("timeout"))
            return {"wait": spec["task"], "state": task["state"]}
        execution_id = self.saved[spec["execution"]] if spec.get("execution") else self._require_execution()

        def reached() -> dict[str, Any] | None:
            ex = self.api.get(f"/executions/{execution_id}")
            if ex["state"] == target or ex["state"] in TERMINAL:
                return dict(ex)
            return None

        try:
            ex = self.api.wait_for(f"execution state {target}", reached, spec.get("timeout"))
        except CaseFailed:
            ex = self.api.get(f"/executions/{execution_id}")
            return {"wait": target, "state": ex["state"], "timed_out": True}
        if ex["state"] in TERMINAL and spec.get("settle", True):
            self._settle(execution_id)
        return {"wait": spec.get("execution", target), "state": ex["state"]} if spec.get("execution") \
            else {"wait": target, "state": ex["state"]}

    def _settle(self, execution_id: str) -> None:
        """Give tasks still running after their workflow ended a moment to finish."""
        deadline = time.monotonic() + SETTLE_SECONDS
        while time.monotonic() < deadline:
            tasks = self.api.get(f"/executions/{execution_id}/tasks")["tasks"]
            if not any(t["state"] in UNSETTLED for t in tasks):
                return
            time.sleep(self.api.poll_seconds)

    def _wait_task(self, name: str, state: str, timeout: float | None) -> dict[str, Any]:
        execution_id = self._require_execution()

        def found() -> dict[str, Any] | None:
            tasks = self.api.get(f"/executions/{execution_id}/tasks")["tasks"]
            matching = [t for t in tasks if t["name"] == name and (state == "any" or t["state"] == state)]
            return matching[0] if matching else None

        task: dict[str, Any] = self.api.wait_for(f"task {name} in state {state}", found, timeout)
        return task

    def _step_complete(self, args: dict[str, Any]) -> dict[str, Any]:
        """Complete the running (async) action of a task, as a third party would."""
        task = self._wait_task(args["task"], "RUNNING", args.get("timeout"))
        index = int(args.get("index", 0))

        def running() -> list[dict[str, Any]] | None:
            actions = self.api.get(f"/tasks/{task['id']}/action_executions")["action_executions"]
            open_ = [a for a in actions if a["state"] == "RUNNING"]
            return sorted(open_, key=lambda a: (a.get("created_at") or "", json.dumps(a.get("input"))))[index:] or None

        action = self.api.wait_for(f"a running action of task {args['task']}", running)[0]
        body: dict[str, Any] = {"state": args.get("state", "SUCCESS")}
        if "output" in args:
            body["output"] = args["output"]
        status, answer = self.api.call(args.get("method", "PUT"), f"/action_executions/{action['id']}",
                                       json_body=body)
        return {"complete": args["task"], "status": status, "body": normalise_body(answer, self.ids)}

    def _step_execution(self, args: dict[str, Any]) -> dict[str, Any]:
        execution_id = self._require_execution()
        body = {k: v for k, v in args.items() if k in ("state", "state_info", "description")}
        if "env" in args:
            body["params"] = {"env": args["env"]}
        status, answer = self.api.call("PUT", f"/executions/{execution_id}", json_body=body)
        return {"execution": body, "status": status, "body": normalise_body(answer, self.ids)}

    def _step_task(self, args: dict[str, Any]) -> dict[str, Any]:
        task_id = self._task_id(args["name"])
        body: dict[str, Any] = {"id": task_id, "state": args.get("state", "RUNNING")}
        if "reset" in args:
            body["reset"] = args["reset"]
        if "env" in args:
            body["env"] = json.dumps(args["env"])
        status, answer = self.api.call("PUT", f"/tasks/{task_id}", json_body=body)
        return {"task": args["name"], "status": status, "body": normalise_body(answer, self.ids)}

    def _step_sleep(self, seconds: float) -> dict[str, Any]:
        """Let the clock move on (timestamps have whole seconds), e.g. before an update that must keep one."""
        time.sleep(float(seconds))
        return {"sleep": seconds}

    def _compare_times(self, spec: dict[str, Any], answer: Any) -> dict[str, Any]:
        """``times: {keep: x}`` remembers the answer's timestamps; ``times: {same_as: x}`` records, per
        timestamp, whether it is still the one kept (the values themselves are masked)."""
        if not isinstance(answer, dict):
            return {}
        stamps = {key: answer.get(key) for key in ("created_at", "updated_at") if key in answer}
        if spec.get("keep"):
            self.times[spec["keep"]] = stamps
        if spec.get("same_as"):
            kept = self.times.get(spec["same_as"], {})
            return {"unchanged": {key: kept.get(key) == value for key, value in stamps.items()}}
        return {}

    def _step_snapshot(self, label: str) -> dict[str, Any]:
        execution_id = self._require_execution()
        self.observed.setdefault("snapshots", {})[label] = self._snapshot(execution_id, "execution")
        return {"snapshot": label}

    def _step_request(self, args: dict[str, Any]) -> dict[str, Any] | None:
        path = self._fill(args["path"])
        text = args.get("text")
        status, answer = self.api.call(
            args.get("method", "GET"), path,
            json_body=self._fill_json(args.get("json")),
            text=substitute(text, self.http_url) if text is not None else None,
            content_type=args.get("content_type"), headers=args.get("headers"))
        saved = _answer_id(answer)
        if args.get("save") and saved is not None:
            self.saved[args["save"]] = saved
            self.ids.add(saved, f"<{args['save']}>")
            if args["save"] == "execution" and self.execution_id is None:
                self.execution_id = saved
        if args.get("record", True) is False:
            return None
        recorded: dict[str, Any] = {"request": f"{args.get('method', 'GET')} {args['path']}", "status": status}
        recorded.update(self._compare_times(args.get("times") or {}, answer))
        if args.get("body", True):
            recorded["body"] = normalise_body(answer, self.ids, keep_order=args.get("ordered", True))
        return recorded

    # -- helpers -------------------------------------------------------------------------------

    def _require_execution(self) -> str:
        if self.execution_id is None:
            raise CaseFailed("this step needs a started execution")
        return self.execution_id

    def _task_id(self, label: str) -> str:
        name, _, occurrence = label.partition("#")
        execution_id = self._require_execution()
        tasks = [t for t in self.api.get(f"/executions/{execution_id}/tasks")["tasks"] if t["name"] == name]
        tasks.sort(key=lambda t: (t.get("created_at") or "", t["id"]))
        position = int(occurrence or 1) - 1
        if position >= len(tasks):
            raise CaseFailed(f"no task {label}")
        return str(tasks[position]["id"])

    def _fill(self, path: str) -> str:
        if "{execution}" in path:
            path = path.replace("{execution}", self._require_execution())
        while "{task:" in path:
            start = path.index("{task:")
            end = path.index("}", start)
            path = path[:start] + self._task_id(path[start + 6:end]) + path[end + 1:]
        for name, value in self.saved.items():
            path = path.replace("{" + name + "}", value)
        return path

    def _fill_json(self, value: Any) -> Any:
        """Placeholders inside a JSON body (``{execution}``, ``{<saved>}``) become the ids they name."""
        if isinstance(value, str):
            return self._fill(value) if "{" in value else value
        if isinstance(value, list):
            return [self._fill_json(item) for item in value]
        if isinstance(value, dict):
            return {key: self._fill_json(item) for key, item in value.items()}
        return value

    # -- snapshots -----------------------------------------------------------------------------

    def _snapshot(self, execution_id: str, label: str) -> dict[str, Any]:
        raw = self._read_tree(execution_id)
        self._label(raw, label)
        return self._shape(raw)

    def _read_tree(self, execution_id: str) -> dict[str, Any]:
        ex = self.api.get(f"/executions/{execution_id}")
        tasks = self.api.get(f"/executions/{execution_id}/tasks")["tasks"]
        for task in tasks:
            status, detail = self.api.call("GET", f"/tasks/{task['id']}")
            task["_result"] = detail.get("result") if status == 200 else {"<http status>": status}
            actions = self.api.get(f"/tasks/{task['id']}/action_executions")["action_executions"]
            task["_actions"] = [self.api.get(f"/action_executions/{a['id']}") for a in actions]
            children = self.api.get(f"/executions?task_execution_id={task['id']}")["executions"]
            task["_children"] = [self._read_tree(c["id"]) for c in children]
        ex["_tasks"] = tasks
        return dict(ex)

    def _label(self, tree: dict[str, Any], label: str) -> None:
        self.ids.add(tree["id"], f"<{label}>")
        for task_label, task in _labelled(tree["_tasks"], _task_key):
            self.ids.add(task["id"], f"<task:{task_label}>" if label == "execution"
                         else f"<task:{label}:{task_label}>")
            task["_label"] = task_label
            for action_label, action in _labelled(task["_actions"], _action_key, prefix=task_label):
                self.ids.add(action["id"], f"<action:{action_label}>")
                action["_label"] = action_label
            for child_label, child in _labelled(task["_children"], _child_key, prefix=task_label):
                child["_label"] = child_label
                self._label(child, f"child:{child_label}")

    def _shape(self, tree: dict[str, Any]) -> dict[str, Any]:
        ids = self.ids
        shaped: dict[str, Any] = {
            key: normalise(_json(tree.get(key)), ids)
            for key in ("workflow_name", "state", "state_info", "input", "output", "params")
        }
        tasks: dict[str, Any] = {}
        actions: dict[str, Any] = {}
        children: dict[str, Any] = {}
        for task in tree["_tasks"]:
            tasks[task["_label"]] = {
                "name": task["name"], "type": task.get("type"), "state": task.get("state"),
                "state_info": normalise(task.get("state_info"), ids),
                "published": normalise(_json(task.get("published")), ids),
                "result": normalise(_json(task["_result"]), ids),
                "runtime_context": normalise(_json(task.get("runtime_context")), ids),
            }
            for action in task["_actions"]:
                actions[action["_label"]] = {
                    "name": action.get("name"), "state": action.get("state"),
                    "input": normalise(_json(action.get("input")), ids),
                    "output": normalise(_json(action.get("output")), ids),
                }
            for child in task["_children"]:
                children[child["_label"]] = self._shape(child)
        shaped["tasks"] = tasks
        shaped["actions"] = actions
        if children:
            shaped["children"] = children
        return shaped


def _answer_id(answer: Any) -> str | None:
    """The id of an answer: its own, or that of the only item of a one-item collection."""
    if not isinstance(answer, dict):
        return None
    if "id" in answer:
        return str(answer["id"])
    items = [value for value in answer.values() if isinstance(value, list)]
    if len(items) == 1 and len(items[0]) == 1 and isinstance(items[0][0], dict) and "id" in items[0][0]:
        return str(items[0][0]["id"])
    return None


def _definition_paths(case: Case) -> list[str]:
    """The resources a case's setup creates (default namespace), as paths to delete."""
    paths = [f"/environments/{env['name']}" for env in case.environments]
    for text, collection in ((case.workbook, "workbooks"), (case.actions, "actions"), (case.workflows, "workflows")):
        try:
            document = yaml.safe_load(text) if text else None
        except yaml.YAMLError:
            continue
        if not isinstance(document, dict):
            continue
        if collection == "workbooks":
            book = document.get("name")
            names = [book] if isinstance(book, str) else []
            for kind in ("workflows", "actions"):
                if isinstance(book, str) and isinstance(document.get(kind), dict):
                    paths += [f"/{kind}/{book}.{name}" for name in document[kind]]
        else:
            names = [str(k) for k in document if k != "version"]
        paths += [f"/{collection}/{name}" for name in names]
    return paths


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _task_key(task: dict[str, Any]) -> Any:
    return (task.get("created_at") or "", task.get("state") or "", str(task.get("published")))


def _child_key(child: dict[str, Any]) -> Any:
    """Children of one with-items task start within the same second: their item index orders them."""
    params = _json(child.get("params")) or {}
    index = params.get("index", -1) if isinstance(params, dict) else -1
    return (child.get("created_at") or "", index if isinstance(index, int) else -1, str(child.get("input")))


def _action_key(action: dict[str, Any]) -> Any:
    return (action.get("created_at") or "", str(action.get("input")), str(action.get("output")))


def _labelled(items: list[dict[str, Any]], key: Any, prefix: str | None = None) -> list[tuple[str, dict[str, Any]]]:
    """Stable labels: tasks by name (``t1``, ``t1#2`` for a second run), actions and children by number."""
    if prefix is None:
        by_name: dict[str, list[dict[str, Any]]] = {}
        for item in sorted(items, key=lambda i: (i["name"], key(i))):
            by_name.setdefault(item["name"], []).append(item)
        return [(name if n == 0 else f"{name}#{n + 1}", item)
                for name, group in by_name.items() for n, item in enumerate(group)]
    return [(f"{prefix}/{n + 1}", item) for n, item in enumerate(sorted(items, key=key))]


def run_case(api: Api, case: Case, http_url: str) -> dict[str, Any]:
    try:
        return CaseRun(api, case, http_url).run()
    except CaseFailed as exc:
        return {"case": case.name, "failed": str(exc)}
    except requests.RequestException as exc:
        # One broken connection fails its own case; the others still run and are judged.
        return {"case": case.name, "failed": f"{type(exc).__name__}: {exc}"}
