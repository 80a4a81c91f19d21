"""A lead's other numbers in one cell: written as a list by the exports, split by the reader."""

from __future__ import annotations

import csv
import io

from callcenter.app.exports import Column, ColumnKind, write_csv
from callcenter.app.leadfile import LeadAccepted, read_leads


def accepted(data: bytes) -> list[LeadAccepted]:
    return [e for e in read_leads(data, "a.csv") if isinstance(e, LeadAccepted)]


def test_a_cell_of_other_numbers_may_hold_several_between_commas_or_enumeration_marks() -> None:
    body = (
        "手机,备用电话\n"
        '13800138000,"13900139000, 010-62345678"\n'
        "13700137000,13600136000、１３５００１３５０００；oops\n"
        "13400134000,\n"
    )
    first, second, third = accepted(body.encode("gbk"))
    assert [p.e164 for p in first.extra_numbers] == ["+8613900139000", "+861062345678"]
    assert [p.e164 for p in second.extra_numbers] == ["+8613600136000", "+8613500135000"]
    assert [(e.code, e.raw) for e in second.extra_rejected] == [("not-a-number", "oops")]
    assert (third.extra_numbers, third.extra_rejected) == ((), ())


def test_a_list_of_numbers_is_written_as_numbers_and_read_back_as_them() -> None:
    columns = [
        Column("phone", "电话", "Phone", ColumnKind.PHONE),
        Column("others", "备用电话", "Other phone", ColumnKind.PHONE),
        Column("note", "备注", "Note"),
    ]
    rows: list[dict[str, object]] = [
        {"phone": "+8613800138000", "others": ["+8613900139000", "+861062345678"], "note": ["a"]},
        {"phone": "+8613700137000", "others": ["=1+1", "+8613600136000"], "note": None},
    ]
    out = io.BytesIO()
    write_csv(rows, columns, out)
    _, first, second = csv.reader(io.StringIO(out.getvalue().decode("utf-8-sig")))
    assert first == ["+8613800138000", "+8613900139000, +861062345678", "a"]
    assert second[1] == "'=1+1, +8613600136000"  # anything but numbers is still defused
    lead, _ = accepted(out.getvalue())
    assert [p.e164 for p in lead.extra_numbers] == ["+8613900139000", "+861062345678"]
