"""A refused manual call names its reason in Chinese and English, whatever the reason."""

from __future__ import annotations

from callcenter.app.blacklist import BlockReason
from callcenter.app.dialer.manual import (
    CallNotPlaced,
    LeadNotDialable,
    NumberBlocked,
    reason_text,
)
from callcenter.domain.dialing_policy import Reason
from callcenter.domain.trunk_routing import NoTrunkReason


def test_every_reason_a_lead_or_a_number_is_refused_has_words_in_both_languages() -> None:
    """The policy's refusals, the route's and the block lists' are all spelt out: none
    falls back to its code."""
    refusals = [r for r in Reason if r not in (Reason.ALLOWED, Reason.CALLBACK_DUE)]
    for code in [*refusals, *BlockReason, "no-trunk", "list-not-approved"]:
        zh, en = reason_text(code)
        assert code not in (zh, en), code
        assert zh != en and all("\u4e00" <= c <= "\u9fff" for c in zh if c.isalpha()), code


def test_a_missing_trunk_names_why() -> None:
    for why in NoTrunkReason:
        zh, en = reason_text(f"no-trunk:{why}")
        assert zh.startswith("没有可用的中继线路（") and en.startswith(
            "no trunk can take the call ("
        )
        assert why not in zh + en
    assert reason_text("something-new") == ("something-new", "something-new")


def test_the_errors_read_in_the_reader_s_language() -> None:
    zh, en = reason_text(Reason.OUTSIDE_WINDOW)
    refused = LeadNotDialable(lead_id=7, reason=Reason.OUTSIDE_WINDOW, reason_zh=zh, reason_en=en)
    assert refused.message("zh-CN") == "名单号码 7 现在不能拨打：不在外呼时段（客户当地时间）"
    assert refused.message("en") == (
        "Lead 7 may not be dialled now: outside the calling hours in the person's local time"
    )
    zh, en = reason_text(BlockReason.OPT_OUT)
    blocked = NumberBlocked(number="13800000001", reason="opt_out", reason_zh=zh, reason_en=en)
    assert blocked.message("zh-CN") == "号码 13800000001 在拒绝来电名单中，不能拨打"
    assert blocked.status == 409
    zh, en = reason_text("caller-id-cap")
    capped = CallNotPlaced(campaign_id=3, reason="caller-id-cap", reason_zh=zh, reason_en=en)
    assert capped.code == "no-route" and "daily cap" in capped.message("en")
