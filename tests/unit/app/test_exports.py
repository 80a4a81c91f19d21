"""Result lists as CSV and XLSX: Excel-friendly, injection-safe, and readable back as leads."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
from collections.abc import Iterator
from decimal import Decimal

import openpyxl
from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.app.exports import Column, ColumnKind, defuse, write_csv, write_xlsx
from callcenter.app.leadfile import LeadAccepted, Summary, read_leads

COLUMNS = [
    Column("name", "姓名", "Name"),
    Column("phone", "电话", "Phone", ColumnKind.PHONE),
    Column("outcome", "呼叫结果", "Outcome"),
    Column("talk_seconds", "通话时长（秒）", "Talk (s)", ColumnKind.NUMBER),
    Column("called_at", "呼叫时间", "Called at", ColumnKind.DATETIME),
    Column("callback_on", "回访日期", "Callback on", ColumnKind.DATE),
]

ROWS: list[dict[str, object]] = [
    {
        "name": "张三",
        "phone": "13800138000",
        "outcome": "成交",
        "talk_seconds": 95,
        "called_at": dt.datetime(2024, 3, 1, 1, 30, tzinfo=dt.UTC),
        "callback_on": dt.date(2024, 3, 8),
    },
    {
        "name": 'Li "Lee", Si',
        "phone": "+8618600000000",
        "outcome": '=HYPERLINK("http://evil")',
        "talk_seconds": 12.5,
        "called_at": dt.datetime(2024, 3, 1, 23, 0),
        "callback_on": None,
    },
]


def csv_of(rows: list[dict[str, object]], **options: object) -> bytes:
    out = io.BytesIO()
    assert write_csv(rows, COLUMNS, out, **options) == len(rows)  # type: ignore[arg-type]
    return out.getvalue()


def xlsx_of(rows: list[dict[str, object]], **options: object) -> bytes:
    out = io.BytesIO()
    assert write_xlsx(rows, COLUMNS, out, **options) == len(rows)  # type: ignore[arg-type]
    return out.getvalue()


def parse_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(codecs.BOM_UTF8)
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_csv_has_a_bom_chinese_headers_and_crlf_lines() -> None:
    data = csv_of(ROWS)
    assert data.startswith(codecs.BOM_UTF8 + "姓名,电话,呼叫结果".encode())
    assert data.count(b"\r\n") == 3
    header, first, _ = parse_csv(data)
    assert header == ["姓名", "电话", "呼叫结果", "通话时长（秒）", "呼叫时间", "回访日期"]
    assert first == ["张三", "13800138000", "成交", "95", "2024-03-01 09:30:00", "2024-03-08"]


def test_csv_headers_follow_the_language_and_times_the_zone() -> None:
    header, first, second = parse_csv(csv_of(ROWS, language="en", time_zone="Europe/London"))
    assert header[0:2] == ["Name", "Phone"]
    assert first[4] == "2024-03-01 01:30:00"
    assert second[4] == "2024-03-01 23:00:00", "a naive datetime is UTC"


def test_csv_quotes_commas_quotes_and_newlines_as_rfc4180_says() -> None:
    rows: list[dict[str, object]] = [{"name": 'a,b "c"\nd', "phone": "13800138000"}]
    data = csv_of(rows)
    assert b'"a,b ""c""\nd"' in data
    assert parse_csv(data)[1][0] == 'a,b "c"\nd'


def test_csv_cells_that_would_run_as_formulas_get_an_apostrophe() -> None:
    rows: list[dict[str, object]] = [
        {"name": name, "phone": "+86 138 0013 8000", "talk_seconds": -5, "outcome": "ok"}
        for name in ["=1+1", "+1", "-2", "@SUM(A1)", "\tx", "\rx", "normal"]
    ]
    table = parse_csv(csv_of(rows))[1:]
    assert [row[0] for row in table] == [
        "'=1+1",
        "'+1",
        "'-2",
        "'@SUM(A1)",
        "'\tx",
        "'\rx",
        "normal",
    ]
    assert {row[1] for row in table} == {"+86 138 0013 8000"}, "a phone number is not a formula"
    assert {row[3] for row in table} == {"-5"}, "a number is not a formula"


def test_a_phone_column_holding_a_formula_is_defused_too() -> None:
    table = parse_csv(csv_of([{"phone": "=cmd|'/C calc'!A0"}]))
    assert table[1][1] == "'=cmd|'/C calc'!A0"


def test_defuse_leaves_ordinary_text_alone() -> None:
    assert defuse("张三") == "张三"
    assert defuse("") == ""
    assert defuse("=x") == "'=x"


def test_xlsx_keeps_numbers_as_numbers_and_phones_as_text() -> None:
    book = openpyxl.load_workbook(io.BytesIO(xlsx_of(ROWS)))
    sheet = book.active
    assert sheet is not None
    assert sheet.title == "导出结果"
    header, first, second = list(sheet.iter_rows())
    assert [cell.value for cell in header][:3] == ["姓名", "电话", "呼叫结果"]
    assert header[0].font.bold
    assert (first[1].value, first[1].data_type, first[1].number_format) == (
        "13800138000",
        "s",
        "@",
    )
    assert (first[3].value, first[3].data_type) == (95, "n")
    assert second[3].value == 12.5
    assert first[4].value == dt.datetime(2024, 3, 1, 9, 30)
    assert first[4].number_format == "yyyy-mm-dd hh:mm:ss"
    assert first[5].value == dt.datetime(2024, 3, 8)
    assert second[5].value is None
    assert sheet.freeze_panes == "A2"


def test_xlsx_stores_formula_like_text_as_quoted_text() -> None:
    book = openpyxl.load_workbook(io.BytesIO(xlsx_of(ROWS)))
    sheet = book.active
    assert sheet is not None
    cell = sheet["C3"]
    assert cell.value == '=HYPERLINK("http://evil")'
    assert cell.data_type == "s"
    assert cell.quotePrefix


def test_xlsx_headers_in_english_and_a_named_sheet() -> None:
    out = io.BytesIO()
    write_xlsx(ROWS, COLUMNS, out, language="en", sheet_title="Spring sale")
    sheet = openpyxl.load_workbook(io.BytesIO(out.getvalue()))["Spring sale"]
    assert sheet["A1"].value == "Name"
    assert sheet["E1"].value == "Called at"


def test_xlsx_drops_characters_excel_cannot_hold() -> None:
    book = openpyxl.load_workbook(io.BytesIO(xlsx_of([{"name": "a\x00b\x1fc", "phone": 1}])))
    sheet = book.active
    assert sheet is not None
    assert sheet["A2"].value == "abc"
    assert sheet["B2"].value == "1"


def test_numbers_of_every_python_kind_and_timestamps() -> None:
    rows: list[dict[str, object]] = [
        {"talk_seconds": Decimal("1.25"), "called_at": 0},
        {"talk_seconds": True, "called_at": "not a time"},
        {"talk_seconds": float("nan"), "called_at": 1e300},
        {"talk_seconds": "n/a"},
    ]
    table = parse_csv(csv_of(rows, time_zone="UTC"))[1:]
    assert [row[3] for row in table] == ["1.25", "1", "nan", "n/a"]
    assert [row[4] for row in table] == ["1970-01-01 00:00:00", "not a time", "1e+300", ""]
    book = openpyxl.load_workbook(io.BytesIO(xlsx_of(rows, time_zone="UTC")))
    sheet = book.active
    assert sheet is not None
    assert [sheet.cell(r, 4).value for r in range(2, 6)] == [1.25, 1, "nan", "n/a"]


def test_an_empty_export_is_a_header_alone() -> None:
    assert len(parse_csv(csv_of([]))) == 1
    book = openpyxl.load_workbook(io.BytesIO(xlsx_of([])))
    sheet = book.active
    assert sheet is not None
    assert sheet.max_row == 1


def test_rows_are_written_as_they_come() -> None:
    """Half way through a generator of 20 000 rows, the first half is already in the file."""
    out = io.BytesIO()
    written_half_way = 0

    def rows() -> Iterator[dict[str, object]]:
        nonlocal written_half_way
        for n in range(20_000):
            if n == 10_000:
                written_half_way = out.tell()
            yield {"name": f"客户{n}", "phone": f"138{n:08d}", "talk_seconds": n}

    assert write_csv(rows(), COLUMNS, out) == 20_000
    assert out.getvalue().count(b"\r\n") == 20_001
    assert written_half_way > len(out.getvalue()) * 0.4


def leads_of(data: bytes, filename: str) -> list[tuple[str, str, str]]:
    events = list(read_leads(data, filename))
    assert isinstance(events[-1], Summary)
    return [
        (e.phone.e164, e.name, e.fields["呼叫结果"]) for e in events if isinstance(e, LeadAccepted)
    ]


def test_an_exported_xlsx_reads_back_as_the_same_leads() -> None:
    """XLSX keeps formula-like text exactly; only its quote prefix marks it."""
    assert leads_of(xlsx_of(ROWS), "结果.xlsx") == [
        ("+8613800138000", "张三", "成交"),
        ("+8618600000000", 'Li "Lee", Si', '=HYPERLINK("http://evil")'),
    ]


def test_an_exported_csv_reads_back_as_the_same_leads() -> None:
    """CSV has no quote prefix: the defused text keeps its apostrophe."""
    got = leads_of(csv_of(ROWS), "结果.csv")
    assert got == [
        ("+8613800138000", "张三", "成交"),
        ("+8618600000000", 'Li "Lee", Si', '\'=HYPERLINK("http://evil")'),
    ]


_NAMES = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12
).map(str.strip)


@settings(max_examples=30, deadline=None, database=None)
@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=99_999_999), _NAMES),
        min_size=1,
        max_size=20,
        unique_by=lambda pair: pair[0],
    )
)
def test_write_xlsx_then_read_leads_gives_the_same_leads(people: list[tuple[int, str]]) -> None:
    rows: list[dict[str, object]] = [
        {"name": name, "phone": f"139{n:08d}", "outcome": "回访"} for n, name in people
    ]
    got = leads_of(xlsx_of(rows), "round.xlsx")
    assert got == [(f"+86139{n:08d}", name, "回访") for n, name in people]
