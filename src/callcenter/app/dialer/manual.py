"""Why a lead dialled by hand is refused (手动外呼的拒绝原因), in Chinese and English.

An agent of a manual campaign picks a lead and dials it from the desk (the platform side
is :mod:`callcenter.app.dialing_manual`); when that cannot be done, the answer is one of
the errors here, whose message names the reason in the reader's language: the pre-dial
policy's reasons (:class:`~callcenter.domain.dialing_policy.Reason`), the route's
(``caller-id-cap``, ``no-trunk:<why>``) and the block lists' (a number typed on the
keypad), all in :data:`REASONS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from callcenter.app.dialer.placing import NO_TRUNK
from callcenter.domain.dialing_policy import Reason
from callcenter.domain.errors import DomainError
from callcenter.domain.trunk_routing import NoTrunkReason

__all__ = [
    "CALLBACK_ELSEWHERE",
    "LIST_NOT_APPROVED",
    "NO_LEADS",
    "REASONS",
    "CallNotPlaced",
    "CampaignNotDialling",
    "CampaignNotManual",
    "LeadNotDialable",
    "LeadNotInCampaign",
    "NoManualLead",
    "NotCampaignAgent",
    "NumberBlocked",
    "NumberNotLead",
    "reason_text",
]

LIST_NOT_APPROVED: Final = "list-not-approved"
CALLBACK_ELSEWHERE: Final = "callback-agent-not-ready"  # a due callback is another agent's
NO_LEADS: Final = "no-leads"

REASONS: Final[Mapping[str, tuple[str, str]]] = {
    Reason.CAMPAIGN_NOT_RUNNING: ("任务未运行", "the campaign is not running"),
    Reason.OUTSIDE_DATE_RANGE: ("不在任务日期内", "outside the campaign's dates"),
    Reason.LOCKED: ("正由其他坐席或外呼引擎处理", "another agent or the dialer has it"),
    Reason.DO_NOT_CALL: ("在勿扰名单中", "it is on the do-not-call list"),
    Reason.BLACKLISTED: ("在黑名单中", "it is blacklisted"),
    Reason.OPTED_OUT: ("客户已要求不再来电", "the person asked not to be called"),
    Reason.UNKNOWN_TIME_ZONE: ("号码时区不明", "the number's time zone is unknown"),
    Reason.FINAL_OUTCOME: ("已有最终结果", "it has a final outcome"),
    Reason.MAX_ATTEMPTS_LIFETIME: ("已达累计拨打上限", "it reached its lifetime attempts"),
    Reason.ABANDONED_COOLOFF: ("放弃呼叫后冷却中", "it is cooling off after an abandoned call"),
    Reason.CALLBACK_NOT_DUE: ("预约回拨时间未到", "its callback is not due yet"),
    Reason.MAX_ATTEMPTS_DAY: ("已达当日拨打上限", "it reached today's attempts"),
    Reason.MAX_ATTEMPTS_24H: ("已达 24 小时拨打上限", "it reached its attempts in 24 hours"),
    Reason.RETRY_DELAY: ("重拨间隔未到", "its retry delay has not passed"),
    Reason.HOLIDAY: ("客户当地为节假日", "it is a holiday where the person lives"),
    Reason.OUTSIDE_WINDOW: (
        "不在外呼时段（客户当地时间）",
        "outside the calling hours in the person's local time",
    ),
    Reason.NO_WINDOW: ("没有外呼时段", "the campaign has no calling hours ahead"),
    Reason.CALLER_ID_CAP: (
        "主叫号码今日外呼次数已用完（所有外呼任务合计）",
        "every caller ID of the campaign is at its daily cap, counting every campaign's calls",
    ),
    CALLBACK_ELSEWHERE: ("预约回拨属于其他坐席", "it is a callback due to another agent"),
    LIST_NOT_APPROVED: ("名单未随版本审批", "its list is not in the approved version"),
    NO_TRUNK: ("没有可用的中继线路", "no trunk can take the call"),
    NoTrunkReason.NOT_SERVED: ("没有服务该号码的中继", "no trunk serves the number"),
    NoTrunkReason.CHANNELS: ("中继线路全忙", "every trunk is busy"),
    NoTrunkReason.CPS: ("中继已达每秒呼叫上限", "the trunks are at their calls per second"),
    NO_LEADS: ("没有可拨打的名单", "no lead may be dialled now"),
    "blacklist": ("黑名单", "the blacklist"),
    "do_not_call": ("勿扰名单", "the do-not-call list"),
    "opt_out": ("拒绝来电名单", "the opt-out list"),
    "complaint": ("投诉名单", "the complaints list"),
}


def reason_text(code: str) -> tuple[str, str]:
    """A reason code in Chinese and English; ``no-trunk:<why>`` names both parts, an
    unknown code stands for itself."""
    head, _, why = code.partition(":")
    zh, en = REASONS.get(head, (head, head))
    if why:
        why_zh, why_en = REASONS.get(why, (why, why))
        return f"{zh}（{why_zh}）", f"{en} ({why_en})"
    return zh, en


class NotCampaignAgent(DomainError):
    code = "not-campaign-agent"
    status = 403
    message_zh = "坐席 {agent_no} 未以外呼任务 {campaign_id} 的坐席组签入"
    message_en = "Agent {agent_no} is not logged in to a group of campaign {campaign_id}"


class CampaignNotDialling(DomainError):
    code = "campaign-not-running"
    status = 409
    message_zh = "外呼任务 {campaign_id} 未在运行"
    message_en = "Campaign {campaign_id} is not running"


class CampaignNotManual(DomainError):
    code = "campaign-not-manual"
    status = 409
    message_zh = "外呼任务 {campaign_id} 不是手动外呼任务（{mode}）"
    message_en = "Campaign {campaign_id} is not dialled by hand ({mode})"


class LeadNotInCampaign(DomainError):
    code = "lead-not-in-campaign"
    status = 404
    message_zh = "名单号码 {lead_id} 不属于外呼任务 {campaign_id}"
    message_en = "Lead {lead_id} is not a lead of campaign {campaign_id}"


class LeadNotDialable(DomainError):
    code = "lead-not-dialable"
    status = 409
    message_zh = "名单号码 {lead_id} 现在不能拨打：{reason_zh}"
    message_en = "Lead {lead_id} may not be dialled now: {reason_en}"


class CallNotPlaced(DomainError):
    code = "no-route"  # as NoRoute: no caller ID left today, or no trunk
    status = 409
    message_zh = "外呼任务 {campaign_id} 现在无法外呼：{reason_zh}"
    message_en = "Campaign {campaign_id} cannot place the call now: {reason_en}"


class NoManualLead(DomainError):
    code = "manual-lead-missing"
    status = 409
    message_zh = "坐席 {agent_no} 没有手动外呼中的名单号码 {lead_id}"
    message_en = "Agent {agent_no} holds no lead {lead_id} to dial by hand"


class NumberNotLead(DomainError):
    code = "number-not-lead"
    status = 422
    message_zh = "号码 {number} 不是名单号码 {lead_id} 的号码"
    message_en = "Number {number} is not the number of lead {lead_id}"


class NumberBlocked(DomainError):
    code = "number-blocked"
    status = 409
    message_zh = "号码 {number} 在{reason_zh}中，不能拨打"
    message_en = "Number {number} is on {reason_en} and may not be dialled"
