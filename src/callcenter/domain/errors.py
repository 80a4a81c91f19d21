"""Errors raised by the call-center domain.

Every error carries a stable ``code`` (the web layer returns it as ``error``), the HTTP
``status`` the web layer answers with (409 wrong state, 404 unknown, 422 invalid), and
messages in Chinese and English. The messages are ``str.format`` templates filled from
the instance's ``details``; a raised error never changes domain state.
"""

from __future__ import annotations

from typing import ClassVar


class _KeepMissing(dict[str, object]):
    """A format mapping that leaves unknown placeholders as they are."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


class DomainError(Exception):
    """Base class of every error the domain raises on purpose."""

    code: ClassVar[str] = "domain-error"
    status: ClassVar[int] = 422
    message_zh: ClassVar[str] = "业务规则不允许此操作"
    message_en: ClassVar[str] = "The operation is not allowed by the business rules"

    def __init__(self, **details: object) -> None:
        self.details: dict[str, object] = dict(details)
        super().__init__(self.message("en"))

    def message(self, lang: str = "zh-CN") -> str:
        """The message for people, in ``lang`` ("zh-CN"/"zh" or "en"), details filled in."""
        template = self.message_en if lang.lower().startswith("en") else self.message_zh
        return template.format_map(_KeepMissing(self.details))


# --- agents -------------------------------------------------------------------------


class AgentStateError(DomainError):
    """The agent is in a state where the request or event is not allowed."""

    code = "agent-illegal-transition"
    status = 409
    message_zh = "坐席 {agent_id} 当前状态为 {state}，不能执行 {action}"
    message_en = "Agent {agent_id} cannot {action} while in state {state}"


class AgentNotLoggedIn(AgentStateError):
    code = "agent-not-logged-in"
    message_zh = "坐席 {agent_id} 未登录"
    message_en = "Agent {agent_id} is not logged in"


class AgentAlreadyLoggedIn(AgentStateError):
    code = "agent-already-logged-in"
    message_zh = "坐席 {agent_id} 已登录"
    message_en = "Agent {agent_id} is already logged in"


class AgentNotReady(AgentStateError):
    code = "agent-not-ready"
    message_zh = "坐席 {agent_id} 未示闲（当前状态：{state}），不能分配来电"
    message_en = "Agent {agent_id} is not ready (state: {state}) and cannot be offered a call"


class AgentBusy(AgentStateError):
    code = "agent-busy"
    message_zh = "坐席 {agent_id} 正在通话中（当前状态：{state}），不能 {action}"
    message_en = "Agent {agent_id} is on a call (state: {state}) and cannot {action}"


class AgentNotOnCall(AgentStateError):
    code = "agent-not-on-call"
    message_zh = "坐席 {agent_id} 没有通话（当前状态：{state}），不能 {action}"
    message_en = "Agent {agent_id} has no call (state: {state}) and cannot {action}"


class AgentCallMismatch(DomainError):
    code = "agent-call-mismatch"
    status = 409
    message_zh = "坐席 {agent_id} 正在处理呼叫 {current_call_id}，而不是 {call_id}"
    message_en = "Agent {agent_id} is handling call {current_call_id}, not {call_id}"


class InvalidNotReadyReason(DomainError):
    code = "agent-invalid-reason"
    status = 422
    message_zh = "示忙原因不能为空"
    message_en = "A not-ready reason code is required"


class InvalidAgentConfig(DomainError):
    code = "agent-config-invalid"
    status = 422
    message_zh = "坐席 {agent_id} 配置无效：{problem}"
    message_en = "Agent {agent_id} configuration is invalid: {problem}"


# --- queues -------------------------------------------------------------------------


class InvalidQueueConfig(DomainError):
    code = "queue-config-invalid"
    status = 422
    message_zh = "队列 {queue_id} 配置无效：{problem}"
    message_en = "Queue {queue_id} configuration is invalid: {problem}"


class CallAlreadyQueued(DomainError):
    code = "call-already-queued"
    status = 409
    message_zh = "呼叫 {call_id} 已在队列 {queue_id} 中"
    message_en = "Call {call_id} is already waiting in queue {queue_id}"


class CallNotQueued(DomainError):
    code = "call-not-queued"
    status = 404
    message_zh = "队列 {queue_id} 中没有呼叫 {call_id}"
    message_en = "Call {call_id} is not waiting in queue {queue_id}"


class CallAlreadyOffered(DomainError):
    code = "call-already-offered"
    status = 409
    message_zh = "呼叫 {call_id} 正在振铃坐席，不能重复分配"
    message_en = "Call {call_id} is already being offered to an agent"


class CallNotOffered(DomainError):
    code = "call-not-offered"
    status = 409
    message_zh = "呼叫 {call_id} 当前没有分配给坐席"
    message_en = "Call {call_id} is not being offered to any agent"
