"""A deviation marked hint_after_mistral allows only a hint appended to Mistral's unchanged text."""

from __future__ import annotations

from conformance.compare import judge, load_deviations

HINTED = [{"case": "*", "field": "*body.faultstring", "hint_after_mistral": True, "kind": "extension",
           "reason": "a hint after Mistral's text"}]
MISTRAL = {"steps": [{"status": 404, "body": {"faultstring": "Workflow not found [workflow_identifier=x]"}}]}


def _observed(faultstring: str) -> dict[str, object]:
    return {"steps": [{"status": 404, "body": {"faultstring": faultstring}}]}


def test_a_hint_after_mistrals_text_is_allowed() -> None:
    verdict = judge("c", MISTRAL, _observed("Workflow not found [workflow_identifier=x]\nHint: did you mean 'y'?"),
                    load_deviations(entries=HINTED))
    assert verdict.passed and len(verdict.deviations) == 1


def test_a_changed_text_or_an_empty_hint_is_not() -> None:
    for ours in ("Workflow not found: x\nHint: did you mean 'y'?",        # Mistral's text reworded
                 "Workflow not found [workflow_identifier=x]\nHint: ",     # nothing after the separator
                 "Workflow not found [workflow_identifier=x] (did you mean 'y'?)"):  # not the hint line
        verdict = judge("c", MISTRAL, _observed(ours), load_deviations(entries=HINTED))
        assert not verdict.passed, ours
