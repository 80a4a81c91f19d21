"""Errors raised by the CTI core on purpose.

Each is a :class:`~callcenter.domain.errors.DomainError`: a stable ``code``, the HTTP
``status`` the web layer answers with (404 unknown, 409 wrong state, 422 invalid) and
messages in Chinese and English. A command that raises one has changed nothing.
"""

from __future__ import annotations

from callcenter.domain.errors import DomainError


class UnknownAgent(DomainError):
    code = "agent-unknown"
    status = 404
    message_zh = "坐席 {agent_id} 不存在"
    message_en = "Agent {agent_id} does not exist"


class InvalidPhone(DomainError):
    code = "agent-phone-invalid"
    status = 422
    message_zh = "坐席 {agent_id} 的电话号码无效"
    message_en = "Agent {agent_id} gave no valid phone to log in with"


class PhoneInUse(DomainError):
    code = "agent-phone-in-use"
    status = 409
    message_zh = "电话 {phone} 已被坐席 {other_agent_id} 使用"
    message_en = "Phone {phone} is already used by agent {other_agent_id}"


class UnknownCall(DomainError):
    code = "call-unknown"
    status = 404
    message_zh = "呼叫 {call_id} 不存在或已结束"
    message_en = "Call {call_id} does not exist or has ended"


class UnknownQueue(DomainError):
    code = "queue-unknown"
    status = 404
    message_zh = "队列 {queue_id} 不存在"
    message_en = "Queue {queue_id} does not exist"


class CallNotConnected(DomainError):
    code = "call-not-connected"
    status = 409
    message_zh = "呼叫 {call_id} 当前未接通（状态：{state}），不能 {action}"
    message_en = "Call {call_id} is not connected (state: {state}) and cannot {action}"


class CallAlreadyHeld(DomainError):
    code = "call-already-held"
    status = 409
    message_zh = "呼叫 {call_id} 已经保持"
    message_en = "Call {call_id} is already on hold"


class CallNotHeld(DomainError):
    code = "call-not-held"
    status = 409
    message_zh = "呼叫 {call_id} 没有保持"
    message_en = "Call {call_id} is not on hold"


class ConsultInProgress(DomainError):
    code = "call-consult-in-progress"
    status = 409
    message_zh = "呼叫 {call_id} 正在咨询，不能 {action}"
    message_en = "Call {call_id} has a consultation in progress and cannot {action}"


class NoConsult(DomainError):
    code = "call-no-consult"
    status = 409
    message_zh = "呼叫 {call_id} 没有进行中的咨询"
    message_en = "Call {call_id} has no consultation in progress"


class ConsultNotAnswered(DomainError):
    code = "call-consult-not-answered"
    status = 409
    message_zh = "咨询方尚未接听，不能 {action}"
    message_en = "The consulted party has not answered yet; cannot {action}"


class CallInConference(DomainError):
    code = "call-in-conference"
    status = 409
    message_zh = "呼叫 {call_id} 正在会议中，不能 {action}"
    message_en = "Call {call_id} is in a conference and cannot {action}"


class TransferTargetUnavailable(DomainError):
    code = "transfer-target-unavailable"
    status = 409
    message_zh = "转接目标 {target} 不可用（{problem}）"
    message_en = "Transfer target {target} is not available ({problem})"


class InvalidDestination(DomainError):
    code = "destination-invalid"
    status = 422
    message_zh = "号码 {dest} 无效"
    message_en = "Destination {dest!r} is not valid"


class NotMonitoring(DomainError):
    code = "supervisor-not-monitoring"
    status = 409
    message_zh = "班长 {supervisor_id} 没有在监听呼叫 {call_id}"
    message_en = "Supervisor {supervisor_id} is not monitoring call {call_id}"


class CommandIdReused(DomainError):
    code = "command-id-reused"
    status = 409
    message_zh = "命令编号 {command_id} 已用于另一条命令"
    message_en = "Command id {command_id} was already used for a different command"


class SwitchRefused(DomainError):
    code = "switch-refused"
    status = 409
    message_zh = "交换机拒绝了 {action}：{problem}"
    message_en = "The switch refused to {action}: {problem}"


class InvalidDigits(DomainError):
    code = "dtmf-invalid"
    status = 422
    message_zh = "按键 {digits} 无效"
    message_en = "{digits!r} is not a DTMF string"
