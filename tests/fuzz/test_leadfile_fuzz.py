"""Fuzz targets for the lead-file reader: untrusted uploads only ever raise LeadFileError."""

from __future__ import annotations

import io
import zipfile

import openpyxl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callcenter.app.leadfile import ImportEvent, LeadFileError, Summary, read_leads

FUZZ = settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
NAMES = st.sampled_from(
    ["list.csv", "list.tsv", "list.txt", "list.xlsx", "list.xls", "list", "x.pdf"]
)


def _workbook() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["姓名", "电话", "备注"])
    for n in range(30):
        sheet.append([f"客户{n}", 13800138000 + n, "=1+1" if n % 2 else None])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


WORKBOOK = _workbook()
with zipfile.ZipFile(io.BytesIO(WORKBOOK)) as _zip:
    PARTS = {item.filename: _zip.read(item.filename) for item in _zip.infolist()}


def _read(data: bytes, filename: str) -> list[ImportEvent]:
    """All events, or [] when the file was refused with a LeadFileError."""
    try:
        return list(read_leads(data, filename, max_rows=500))
    except LeadFileError as error:
        assert error.message("zh-CN") and error.message("en")
        return []


def _consistent(events: list[ImportEvent]) -> None:
    if not events:
        return
    summary = events[-1]
    assert isinstance(summary, Summary)
    parts = summary.accepted + summary.rejected + summary.duplicates + summary.blocked
    assert parts == summary.rows_read


@FUZZ
@given(st.binary(max_size=2_000), NAMES)
def test_arbitrary_bytes_raise_only_lead_file_errors(data: bytes, filename: str) -> None:
    _consistent(_read(data, filename))


_CELL = st.text(alphabet="0123456789+-() ,;\t\"'\n\r.eE转ext张三电话phone", max_size=16)


@FUZZ
@given(
    st.lists(st.lists(_CELL, max_size=5), max_size=12),
    st.sampled_from([",", "\t", ";"]),
    st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16"]),
)
def test_csv_like_text_in_any_encoding_raises_only_lead_file_errors(
    rows: list[list[str]], delimiter: str, encoding: str
) -> None:
    text = "电话" + delimiter + "姓名\n" + "\n".join(delimiter.join(row) for row in rows)
    _consistent(_read(text.encode(encoding), "list.csv"))


@FUZZ
@given(st.lists(st.tuples(st.integers(0, len(WORKBOOK) - 1), st.integers(0, 255)), max_size=8))
def test_a_damaged_workbook_raises_only_lead_file_errors(flips: list[tuple[int, int]]) -> None:
    data = bytearray(WORKBOOK)
    for position, value in flips:
        data[position] = value
    _consistent(_read(bytes(data), "list.xlsx"))


@FUZZ
@given(st.integers(0, len(WORKBOOK)))
def test_a_truncated_workbook_raises_only_lead_file_errors(length: int) -> None:
    _consistent(_read(WORKBOOK[:length], "list.xlsx"))


@FUZZ
@given(
    st.sampled_from(sorted(PARTS)),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=6),
    st.booleans(),
)
def test_a_workbook_with_damaged_xml_inside_a_sound_zip_raises_only_lead_file_errors(
    part: str, flips: list[tuple[int, int]], truncate: bool
) -> None:
    """The zip is rebuilt around the damaged part, so openpyxl's parsers see it."""
    content = bytearray(PARTS[part])
    for position, value in flips:
        content[position % len(content)] = value
    if truncate:
        content = content[: flips[0][0] % len(content)]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name, original in PARTS.items():
            target.writestr(name, bytes(content) if name == part else original)
    _consistent(_read(out.getvalue(), "list.xlsx"))
