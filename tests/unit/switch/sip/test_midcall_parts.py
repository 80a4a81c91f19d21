"""The pure parts of mid-call SIP: reading Session-Expires and the session deadline."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callcenter.switch.sip.midcall import MIN_SE, parse_session_expires, session_deadline


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("1800", (1800.0, None)),
        ("1800;refresher=uac", (1800.0, "uac")),
        ("90 ; Refresher = UAS", (90.0, "uas")),
        ("4000;x=1;refresher=uas", (4000.0, "uas")),
        ("", None),
        (None, None),
        ("soon", None),
        ("0", None),
        ("-5;refresher=uac", None),
    ],
)
def test_session_expires_is_read_with_its_refresher(
    value: str | None, parsed: tuple[float, str | None] | None
) -> None:
    assert parse_session_expires(value) == parsed


def test_the_deadline_leaves_a_third_or_32_seconds() -> None:
    """RFC 4028 10: BYE at the interval less min(32 s, a third of it)."""
    assert session_deadline(MIN_SE) == 60.0
    assert session_deadline(1800) == 1768.0
    assert session_deadline(3) == 2.0


@given(st.floats(min_value=0.01, max_value=1e6))
def test_the_deadline_is_after_the_refresh_and_before_the_end(interval: float) -> None:
    deadline = session_deadline(interval)
    assert interval / 2 <= deadline < interval
