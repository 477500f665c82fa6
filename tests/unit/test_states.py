"""The transition tables of workflow, task and action executions, and the refusals in Mistral's words."""

from __future__ import annotations

import pytest

from app.engine.errors import InvalidStateTransition
from app.engine.states import (
    ACTION_TRANSITIONS,
    COMPLETED,
    TASK_TRANSITIONS,
    WORKFLOW_TRANSITIONS,
    Kind,
    State,
    check_transition,
    check_workflow_transition,
    is_valid_first_state,
    is_valid_transition,
)

WORKFLOW, TASK, ACTION = Kind.WORKFLOW, Kind.TASK, Kind.ACTION


@pytest.mark.parametrize("kind, state", [(kind, state) for kind in Kind for state in State])
def test_setting_a_state_again_is_always_allowed(kind: Kind, state: State) -> None:
    assert is_valid_transition(kind, state, state)


@pytest.mark.parametrize("current, new, allowed", [
    ("RUNNING", "PAUSED", True), ("PAUSED", "RUNNING", True), ("RUNNING", "SUCCESS", True),
    ("ERROR", "RUNNING", True), ("CANCELLED", "RUNNING", True),   # a rerun
    ("PAUSED", "SUCCESS", False), ("SUCCESS", "ERROR", False), ("SUCCESS", "RUNNING", False),
    ("ERROR", "PAUSED", False), ("CANCELLED", "ERROR", False), ("RUNNING", "DELAYED", False),
])
def test_workflow_executions_follow_mistrals_table(current: str, new: str, allowed: bool) -> None:
    assert is_valid_transition(WORKFLOW, current, new) is allowed


@pytest.mark.parametrize("current, new", [
    ("RUNNING", "IDLE"),        # pause-before
    ("DELAYED", "IDLE"),        # a delay that ended while the workflow was paused
    ("WAITING", "DELAYED"),     # a join delayed by its wait-before
    ("DELAYED", "SUCCESS"),     # wait-after applies the completion it held back
    ("PAUSED", "SUCCESS"),      # the paused action of the task completed by its third party
    ("ERROR", "WAITING"),       # a rerun reopens a join it had failed
    ("ERROR", "SKIPPED"), ("ERROR", "RUNNING"), ("CANCELLED", "RUNNING"),
])
def test_task_executions_take_the_passes_the_engine_makes(current: str, new: str) -> None:
    assert is_valid_transition(TASK, current, new)


@pytest.mark.parametrize("current, new", [
    ("SUCCESS", "ERROR"),       # fail-on, a publish or transition that cannot be evaluated
    ("SUCCESS", "RUNNING"), ("ERROR", "RUNNING"),   # retry at once
    ("SUCCESS", "DELAYED"), ("ERROR", "DELAYED"),   # retry after a delay, wait-after
    ("SKIPPED", "ERROR"),       # a skipped task whose publish is too large
])
def test_a_task_completion_not_yet_followed_may_be_revised_and_a_followed_one_may_not(current: str,
                                                                                       new: str) -> None:
    assert is_valid_transition(TASK, current, new, followed=False)
    if (current, new) != ("ERROR", "RUNNING"):   # a rerun runs a followed failure again
        assert not is_valid_transition(TASK, current, new, followed=True)


@pytest.mark.parametrize("current, new", [
    ("SUCCESS", "RUNNING"), ("SUCCESS", "SKIPPED"), ("SKIPPED", "RUNNING"), ("IDLE", "WAITING"),
    ("WAITING", "PAUSED"), ("CANCELLED", "ERROR"), ("PAUSED", "IDLE"),
])
def test_task_executions_refuse_what_the_engine_never_does(current: str, new: str) -> None:
    assert not is_valid_transition(TASK, current, new)


@pytest.mark.parametrize("current, new, allowed", [
    ("IDLE", "RUNNING", True), ("IDLE", "ERROR", True), ("RUNNING", "PAUSED", True),
    ("PAUSED", "SUCCESS", True), ("PAUSED", "RUNNING", True), ("RUNNING", "CANCELLED", True),
    ("IDLE", "PAUSED", False), ("SUCCESS", "ERROR", False), ("ERROR", "RUNNING", False),
    ("CANCELLED", "RUNNING", False), ("RUNNING", "DELAYED", False),
])
def test_action_executions_end_once(current: str, new: str, allowed: bool) -> None:
    assert is_valid_transition(ACTION, current, new) is allowed


def test_no_completed_state_of_an_action_or_a_succeeded_workflow_or_task_leads_anywhere() -> None:
    for state in COMPLETED & set(ACTION_TRANSITIONS):
        assert not ACTION_TRANSITIONS[state]
    assert not WORKFLOW_TRANSITIONS[State.SUCCESS] and not TASK_TRANSITIONS[State.SUCCESS]
    assert not TASK_TRANSITIONS[State.SKIPPED]


def test_every_table_names_only_states_and_lists_each_state_it_can_reach() -> None:
    for table in (WORKFLOW_TRANSITIONS, TASK_TRANSITIONS, ACTION_TRANSITIONS):
        reached = {new for targets in table.values() for new in targets}
        assert reached <= set(table), "a state that can be reached has a row of its own"


@pytest.mark.parametrize("kind, state, allowed", [
    (WORKFLOW, "RUNNING", True), (WORKFLOW, "IDLE", False), (TASK, "RUNNING", True), (TASK, "WAITING", True),
    (TASK, "SUCCESS", False), (ACTION, "RUNNING", True), (ACTION, "IDLE", True), (ACTION, "PAUSED", False),
])
def test_each_kind_is_made_in_its_first_states(kind: Kind, state: str, allowed: bool) -> None:
    assert is_valid_first_state(kind, state) is allowed


def test_a_refused_request_is_worded_as_mistral_words_it() -> None:
    with pytest.raises(InvalidStateTransition) as refused:
        check_workflow_transition("SUCCESS", "PAUSED", "wf", "1234")
    assert str(refused.value) == ("Can't change workflow execution state from SUCCESS to PAUSED. "
                                  "[workflow=wf, execution_id=1234]")
    with pytest.raises(InvalidStateTransition) as refused:
        check_transition(ACTION, "IDLE", "PAUSED")
    assert str(refused.value) == "Can't change action execution state from IDLE to PAUSED."
    check_workflow_transition("ERROR", "RUNNING", "wf", "1234")
