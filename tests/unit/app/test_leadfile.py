"""Reading lead files: encodings, delimiters, headers, bad rows, and files that cannot be read."""

from __future__ import annotations

import codecs
import dataclasses
import datetime as dt
import io
import tracemalloc
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.app.leadfile import (
    CorruptXlsx,
    DuplicateMerged,
    EmptyLeadFile,
    FirstRows,
    ImportEvent,
    LeadAccepted,
    LeadFileError,
    MalformedCsv,
    NoPhoneColumn,
    Progress,
    RowBlocked,
    RowRejected,
    SheetNotFound,
    Summary,
    TooManyRows,
    UndecodableText,
    UnknownMappedColumn,
    UnsupportedFileType,
    XlsNotSupported,
    cell_text,
    read_leads,
)
from callcenter.domain.phone import PhoneInfo, normalise

E = TypeVar("E")

LIST = (
    "姓名,手机,城市,备注\n"
    "张三,138 0013 8000,北京,老客户\n"
    "李四,186-0000-0000,上海,\n"
    "王五,+86 189 0000 0000,广州,回访\n"
)


def read(data: bytes, filename: str = "list.csv", **options: Any) -> list[ImportEvent]:
    return list(read_leads(data, filename, **options))


def only(events: Iterable[object], kind: type[E]) -> list[E]:
    return [event for event in events if isinstance(event, kind)]


def summary(events: list[ImportEvent]) -> Summary:
    last = events[-1]
    assert isinstance(last, Summary)
    return last


def xlsx(rows: Iterable[Iterable[object]], title: str = "名单") -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def raises(error: type[LeadFileError], data: bytes, filename: str, **options: Any) -> LeadFileError:
    with pytest.raises(error) as caught:
        read(data, filename, **options)
    return caught.value


# --- encodings and delimiters -------------------------------------------------------


def test_a_utf8_list_gives_leads_with_names_and_custom_fields() -> None:
    events = read(LIST.encode())
    leads = only(events, LeadAccepted)
    assert [lead.row for lead in leads] == [2, 3, 4]
    assert [lead.name for lead in leads] == ["张三", "李四", "王五"]
    assert [lead.phone.carrier_zh for lead in leads] == ["中国移动", "中国联通", "中国电信"]
    assert leads[0].fields == {"城市": "北京", "备注": "老客户"}
    done = summary(events)
    assert (done.rows_read, done.accepted, done.encoding, done.delimiter) == (3, 3, "utf-8", ",")
    assert (done.phone_column, done.name_column) == ("手机", "姓名")
    assert done.field_names == ("城市", "备注")
    assert done.header_row == 1


def test_a_gbk_file_from_chinese_excel_is_read_as_gb18030() -> None:
    events = read(LIST.encode("gbk"))
    assert summary(events).encoding == "gb18030"
    assert only(events, LeadAccepted)[0].name == "张三"
    assert only(events, LeadAccepted)[2].fields["备注"] == "回访"


def test_a_utf8_file_with_a_byte_order_mark_keeps_its_first_header() -> None:
    events = read(codecs.BOM_UTF8 + "手机,姓名\n13800138000,张三\n".encode())
    done = summary(events)
    assert (done.encoding, done.phone_column, done.accepted) == ("utf-8-sig", "手机", 1)


def test_utf16_with_a_byte_order_mark_and_tabs_from_excel_unicode_text() -> None:
    data = "姓名\t电话\n张三\t13800138000\n".encode("utf-16")
    events = read(data, "list.txt")
    done = summary(events)
    assert (done.encoding, done.delimiter, done.accepted) == ("utf-16", "\t", 1)
    assert only(events, LeadAccepted)[0].name == "张三"


@pytest.mark.parametrize("delimiter", [",", "\t", ";"])
def test_the_delimiter_is_sniffed(delimiter: str) -> None:
    text = f"name{delimiter}phone{delimiter}note\nAnn{delimiter}13800138000{delimiter}a,b\n"
    if delimiter == ",":
        text = 'name,phone,note\nAnn,13800138000,"a,b"\n'
    events = read(text.encode())
    assert summary(events).delimiter == delimiter
    assert only(events, LeadAccepted)[0].fields == {"note": "a,b"}


def test_quoted_fields_may_hold_newlines_and_rows_keep_counting_records() -> None:
    data = b'phone,note\n13800138000,"line one\nline two"\n18600000000,x\n'
    leads = only(read(data), LeadAccepted)
    assert leads[0].fields["note"] == "line one\nline two"
    assert [lead.row for lead in leads] == [2, 3]


def test_bytes_that_are_neither_utf8_nor_gb18030_are_refused_with_their_line() -> None:
    data = b"phone\n13800138000\n" + b"\xff\xff\xff\n"
    error = raises(UndecodableText, data, "list.csv")
    assert error.row == 3
    assert "UTF-8" in error.message("zh-CN") and "GB18030" in error.message("en")


def test_a_field_over_the_csv_limit_is_a_malformed_file() -> None:
    data = b'phone,note\n13800138000,"' + b"x" * 200_000 + b'"\n'
    error = raises(MalformedCsv, data, "list.csv")
    assert error.row == 2


def test_a_stream_that_cannot_seek_is_spooled() -> None:
    class Pipe(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self._data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            chunk = self._data.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    pipe = io.BufferedReader(Pipe(LIST.encode("gbk")))
    assert not pipe.seekable()
    events = list(read_leads(pipe, "list.csv"))
    assert summary(events).accepted == 3


# --- columns ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phone", "name"),
    [
        ("电话", "客户名称"),
        ("手机号码", "姓名"),
        ("Phone", "Name"),
        ("Mobile Number", "Full_Name"),
        ("客户手机号", "客户姓名"),
        ("联系人电话", "联系人"),
        ("客户号码", "姓名"),
        ("手机号1", "姓名"),
        ("电话1", "姓名"),
        ("手机号码（必填）", "姓名（必填）"),
        ("Phone (required)", "Name"),
    ],
)
def test_headers_are_recognised_in_chinese_and_english(phone: str, name: str) -> None:
    events = read(f"{name},{phone}\nAnn,13800138000\n".encode())
    lead = only(events, LeadAccepted)[0]
    assert (lead.name, lead.phone.e164, lead.fields) == ("Ann", "+8613800138000", {})


def test_a_column_map_names_the_columns_a_file_calls_otherwise() -> None:
    data = "客户号码,称呼,内部编号,备注\n13800138000,张先生,A-1,重要\n".encode()
    events = read(
        data,
        column_map={"客户号码": "phone", "称呼": "name", "内部编号": "ignore", "备注": "note"},
    )
    lead = only(events, LeadAccepted)[0]
    assert (lead.name, lead.fields) == ("张先生", {"note": "重要"})


def test_a_column_map_naming_a_missing_column_is_refused() -> None:
    error = raises(UnknownMappedColumn, LIST.encode(), "list.csv", column_map={"号码X": "phone"})
    assert error.row == 1
    assert "号码X" in error.message("zh-CN")


def test_a_second_phone_column_gives_extra_numbers() -> None:
    data = "手机,备用电话,姓名\n13800138000,010-12345678,张三\n18600000000,oops,李四\n".encode()
    first, second = only(read(data), LeadAccepted)
    assert [p.e164 for p in first.extra_numbers] == ["+861012345678"]
    assert second.extra_numbers == ()
    assert [e.code for e in second.extra_rejected] == ["not-a-number"]


def test_blank_and_duplicate_headers_become_distinct_field_names() -> None:
    data = b"phone,note,,note\n13800138000,a,b,c\n"
    lead = only(read(data), LeadAccepted)[0]
    assert lead.fields == {"note": "a", "column_3": "b", "note_2": "c"}


def test_a_title_row_above_the_header_is_skipped() -> None:
    """Templates put a title (merged across the columns in Excel) above the header."""
    book = xlsx(
        [["双十一客户名单", None, None], ["姓名", "手机", "备注"], ["张三", 13800138000, "老客户"]]
    )
    events = read(book, "list.xlsx")
    (lead,) = only(events, LeadAccepted)
    assert (lead.row, lead.name, lead.phone.e164, lead.fields) == (
        3,
        "张三",
        "+8613800138000",
        {"备注": "老客户"},
    )
    assert summary(events).header_row == 2
    # A single-column list keeps its one header, and a title may sit over bare numbers.
    assert summary(read("手机\n13800138000\n".encode())).header_row == 1
    titled = read("客户名单\n13800138000\n18600000000\n".encode())
    assert [lead.row for lead in only(titled, LeadAccepted)] == [2, 3]
    # More than three such rows is no title: the file has no phone column.
    with pytest.raises(NoPhoneColumn):
        read("一\n二\n三\n四\n姓名,备注\n张三,x\n".encode())


def test_a_list_of_bare_numbers_needs_no_header() -> None:
    events = read(b"13800138000\n18600000000\n")
    assert [lead.row for lead in only(events, LeadAccepted)] == [1, 2]
    assert summary(events).header_row is None


def test_without_a_phone_column_the_file_is_refused_naming_its_headers() -> None:
    error = raises(NoPhoneColumn, "\n姓名,城市\n张三,北京\n".encode(), "list.csv")
    assert error.row == 2
    assert "姓名、城市" in error.message("zh-CN")
    assert "phone" in error.message("en")


# --- rows ---------------------------------------------------------------------------


def test_each_bad_number_is_rejected_with_its_reason_and_row() -> None:
    rows = ["", "abc", "1.38001E+10", "12", "1" * 25, "+999 1234567", "12345678", "13800138000"]
    data = ("姓名,电话\n" + "".join(f"某人,{raw}\n" for raw in rows)).encode()
    events = read(data)
    rejected = only(events, RowRejected)
    assert [(r.row, r.reason_code) for r in rejected] == [
        (2, "empty"),
        (3, "not-a-number"),
        (4, "digits-lost"),
        (5, "too-short"),
        (6, "too-long"),
        (7, "unsupported-region"),
        (8, "invalid"),
    ]
    assert rejected[2].raw == "1.38001E+10"
    assert "科学计数法" in rejected[2].zh and "scientific" in rejected[2].en
    done = summary(events)
    assert (done.accepted, done.rejected) == (1, 7)
    assert done.rejected_by_reason["digits-lost"] == 1


def test_the_same_number_written_differently_is_merged_into_its_first_row() -> None:
    data = "电话\n13800138000\n+86 138-0013-8000\n18600000000\n0086 13800138000\n".encode()
    events = read(data)
    merged = only(events, DuplicateMerged)
    assert [(m.row, m.first_row, m.e164) for m in merged] == [
        (3, 2, "+8613800138000"),
        (5, 2, "+8613800138000"),
    ]
    assert (summary(events).accepted, summary(events).duplicates) == (2, 2)


def test_one_number_with_two_extensions_is_two_leads() -> None:
    data = "电话\n010-12345678转1\n010-12345678转2\n010-12345678转1\n".encode()
    events = read(data)
    assert [lead.phone.extension for lead in only(events, LeadAccepted)] == ["1", "2"]
    assert len(only(events, DuplicateMerged)) == 1


def test_blocked_numbers_are_filtered_and_counted_by_reason() -> None:
    lists = {"+8613800138000": "blacklist", "+8618600000000": "opted-out"}
    asked: list[str] = []

    def is_blocked(e164: str) -> str | None:
        asked.append(e164)
        return lists.get(e164)

    events = read(LIST.encode(), is_blocked=is_blocked)
    blocked = only(events, RowBlocked)
    assert [(b.row, b.reason) for b in blocked] == [(2, "blacklist"), (3, "opted-out")]
    assert [lead.row for lead in only(events, LeadAccepted)] == [4]
    assert summary(events).blocked_by_reason == {"blacklist": 1, "opted-out": 1}
    assert asked == ["+8613800138000", "+8618600000000", "+8618900000000"]


def test_blank_rows_count_in_row_numbers_but_yield_nothing() -> None:
    events = read("电话\n\n,\n13800138000\n".encode())
    assert only(events, LeadAccepted)[0].row == 4
    assert summary(events).blank_rows == 2


def test_a_header_without_rows_is_an_empty_import_not_an_error() -> None:
    done = summary(read("电话,姓名\n".encode()))
    assert (done.rows_read, done.accepted) == (0, 0)


@pytest.mark.parametrize("data", [b"", b"\n\n\r\n", b",,\n", codecs.BOM_UTF8])
def test_an_empty_file_is_refused(data: bytes) -> None:
    error = raises(EmptyLeadFile, data, "list.csv")
    assert error.code == "lead-file-empty"
    assert error.message("zh-CN") == "文件为空，没有任何数据行"


def test_progress_is_reported_while_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_text("电话\n" + "".join(f"138{n:08d}\n" for n in range(3_000)))
    with path.open("rb") as file:
        events = list(read_leads(file, path.name, progress_every=1_000))
    progress = only(events, Progress)
    assert [p.rows_read for p in progress] == [1_000, 2_000, 3_000, 3_000]
    fractions = [p.fraction for p in progress]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert progress[-2].total_estimate is not None
    assert 2_000 <= progress[-2].total_estimate <= 6_000


def test_a_file_over_the_row_limit_stops_at_the_first_row_too_many(tmp_path: Path) -> None:
    """The rows before the limit were already streamed; the caller discards them."""
    path = tmp_path / "huge.csv"
    path.write_text("电话\n" + "".join(f"139{n:08d}\n" for n in range(5_000)))
    accepted = 0
    with path.open("rb") as file, pytest.raises(TooManyRows) as caught:
        for event in read_leads(file, path.name, max_rows=2_000):
            accepted += isinstance(event, LeadAccepted)
    assert accepted == 2_000
    assert caught.value.row == 2_002
    assert "2000" in caught.value.message("zh-CN")


def test_memory_stays_flat_while_a_large_file_streams(tmp_path: Path) -> None:
    """14 MB of rows with long custom fields read with a few MB of memory at most."""
    path = tmp_path / "wide.csv"
    note = "备注" * 300
    with path.open("w", encoding="utf-8") as file:
        file.write("电话,备注\n")
        for n in range(8_000):
            file.write(f"1380013{n % 50:04d},{note}\n")
    size = path.stat().st_size
    assert size > 14_000_000
    summary(read("电话\n13800138000\n".encode()))  # phonenumbers loads its data once
    tracemalloc.start()
    try:
        with path.open("rb") as file:
            counts = summary(list(_last(read_leads(file, path.name))))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (counts.accepted, counts.duplicates) == (50, 7_950)
    assert peak < size / 5, peak


def _last(events: Iterable[ImportEvent]) -> Iterable[ImportEvent]:
    """Only the last event, so the test itself keeps nothing of the rows."""
    last: list[ImportEvent] = []
    for event in events:
        last[:] = [event]
    return last


# --- XLSX and the files that are not lists ------------------------------------------


def test_xlsx_number_cells_and_text_cells_both_give_numbers() -> None:
    data = xlsx(
        [
            ["姓名", "手机", "生日", "积分"],
            ["张三", 13800138000, dt.date(1990, 5, 1), 12.5],
            ["李四", "186 0000 0000", None, 3],
            [None, None, None, None],
            ["王五", 18900000000.0, dt.datetime(2024, 1, 2, 3, 4), True],
        ]
    )
    events = read(data, "名单.xlsx")
    leads = only(events, LeadAccepted)
    assert [lead.phone.e164 for lead in leads] == [
        "+8613800138000",
        "+8618600000000",
        "+8618900000000",
    ]
    assert [lead.row for lead in leads] == [2, 3, 5]
    assert leads[0].fields == {"生日": "1990-05-01", "积分": "12.5"}  # a date, no midnight
    assert leads[2].fields == {"生日": "2024-01-02 03:04:00", "积分": "TRUE"}
    done = summary(events)
    assert (done.file_format, done.sheet, done.blank_rows) == ("xlsx", "名单", 1)


def test_a_named_sheet_is_read_and_a_missing_one_is_refused() -> None:
    book = openpyxl.Workbook()
    book.create_sheet("第二页").append(["电话"])
    book["第二页"].append(["13800138000"])
    out = io.BytesIO()
    book.save(out)
    events = read(out.getvalue(), "book.xlsx", sheet="第二页")
    assert summary(events).accepted == 1
    error = raises(SheetNotFound, out.getvalue(), "book.xlsx", sheet="第三页")
    assert "第二页" in error.message("zh-CN")


def test_an_xlsx_over_the_row_limit_is_refused() -> None:
    data = xlsx([["电话"], *([f"1380013{n:04d}"] for n in range(30))])
    assert raises(TooManyRows, data, "list.xlsx", max_rows=10).row == 12


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],
        lambda data: b"not a zip at all",
        lambda data: b"PK\x03\x04" + b"\x00" * 100,
    ],
)
def test_a_damaged_xlsx_is_refused(damage: Any) -> None:
    error = raises(CorruptXlsx, damage(xlsx([["电话"], ["13800138000"]])), "list.xlsx")
    assert error.code == "lead-file-corrupt-xlsx"
    assert error.row is None
    assert error.message("zh-CN").startswith("XLSX 文件已损坏")
    assert "damaged" in error.message("en")


def test_an_xlsx_whose_sheet_xml_is_broken_is_refused() -> None:
    good = xlsx([["电话"], *([f"1380013{n:04d}"] for n in range(20))])
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename.endswith("sheet1.xml"):
                content = content[: len(content) // 2]
            target.writestr(item, content)
    with pytest.raises(CorruptXlsx) as caught:
        read(out.getvalue(), "list.xlsx")
    assert caught.value.row is not None
    assert f"第 {caught.value.row} 行附近" in caught.value.message("zh-CN")
    assert f"near row {caught.value.row}" in caught.value.message("en")


def test_old_excel_files_are_refused_with_advice() -> None:
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512
    for data, name in ((ole, "list.xls"), (ole, "list.csv"), (b"anything", "LIST.XLS")):
        error = raises(XlsNotSupported, data, name)
        assert ".xlsx" in error.message("zh-CN") and ".xlsx" in error.message("en")


def test_other_file_types_are_refused() -> None:
    error = raises(UnsupportedFileType, b"%PDF-1.7", "list.pdf")
    assert "list.pdf" in error.message("en")


def test_cell_text_keeps_whole_numbers_whole() -> None:
    assert cell_text(13800138000.0) == "13800138000"
    assert cell_text(1.5) == "1.5"
    assert cell_text(1e20) == "1e+20"
    assert cell_text(None) == ""
    assert cell_text(" a ") == "a"


def test_a_list_from_another_country_reads_with_its_default_region() -> None:
    data = b"Name,Phone\nAnn,(212) 555-1234\nBob,+86 138 0013 8000\n"
    leads = only(read(data, default_region="US"), LeadAccepted)
    assert [(lead.phone.e164, lead.phone.region) for lead in leads] == [
        ("+12125551234", "US"),
        ("+8613800138000", "CN"),
    ]
    assert leads[0].phone.time_zone == "America/New_York"


_TEMPLATE = normalise("13800138000")


def _phone(e164: str, extension: str = "") -> PhoneInfo:
    assert isinstance(_TEMPLATE, PhoneInfo)
    return dataclasses.replace(_TEMPLATE, e164=e164, extension=extension)


@settings(max_examples=60, deadline=None, database=None)
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=999_999_999_999_999),
            st.sampled_from(["", "", "", "1", "22"]),
        ),
        max_size=3_000,
    )
)
def test_first_rows_agrees_with_a_dict(numbers: list[tuple[int, str]]) -> None:
    """The compact table answers as dict.setdefault would, through several growths."""
    table = FirstRows(capacity=8)
    reference: dict[tuple[int, str], int] = {}
    for row, (digits, extension) in enumerate(numbers, start=2):
        expected = reference.setdefault((digits, extension), row)
        assert table.first_row(_phone(f"+{digits}", extension), row) == expected
    assert len(table) == len(reference)


def test_first_rows_holds_a_number_in_under_fifty_bytes() -> None:
    table = FirstRows()
    for n in range(40_000):
        assert table.first_row(_phone(f"+86{13000000000 + n * 7919}"), n + 2) == n + 2
    assert len(table) == 40_000
    assert table.first_row(_phone("+8613000000000"), 1) == 2
    assert table.nbytes < 40_000 * 50
