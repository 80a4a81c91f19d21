"""The error contract the web layer relies on: code, status, zh/en messages, details."""

from __future__ import annotations

from callcenter.domain import errors
from callcenter.domain.errors import AgentNotReady, DomainError


def _all_error_classes() -> list[type[DomainError]]:
    found: list[type[DomainError]] = []
    todo: list[type[DomainError]] = [DomainError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return [c for c in found if c.__module__ == errors.__name__]


def test_every_error_has_a_unique_code_a_status_and_two_messages() -> None:
    """Each error class states its own code, an HTTP status and both messages."""
    classes = _all_error_classes()
    assert len(classes) > 10
    codes = [c.code for c in classes]
    assert len(codes) == len(set(codes))
    for cls in classes:
        assert cls.code and cls.code == cls.code.lower() and " " not in cls.code
        assert cls.status in (404, 409, 422)
        assert cls.message_zh and cls.message_en
        assert cls.message_zh != cls.message_en


def test_messages_are_filled_from_details_in_both_languages() -> None:
    """The web layer shows the message in Chinese or English with the details filled in."""
    error = AgentNotReady(agent_id="1001", state="talking", action="call-offered")
    assert error.code == "agent-not-ready"
    assert error.status == 409
    assert error.details == {"agent_id": "1001", "state": "talking", "action": "call-offered"}
    assert error.message("zh-CN") == "坐席 1001 未示闲（当前状态：talking），不能分配来电"
    assert error.message("en") == (
        "Agent 1001 is not ready (state: talking) and cannot be offered a call"
    )
    assert str(error) == error.message("en")


def test_a_missing_detail_leaves_its_placeholder_instead_of_crashing() -> None:
    """A message template never raises, even when a detail was not given."""
    error = AgentNotReady(agent_id="1001")
    assert error.message("en") == (
        "Agent 1001 is not ready (state: {state}) and cannot be offered a call"
    )
    assert error.details == {"agent_id": "1001"}
