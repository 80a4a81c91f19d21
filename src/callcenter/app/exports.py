"""Writing result lists (营销结果清单) as CSV and XLSX that Excel in China opens well.

Both writers take rows as mappings, the :class:`Column` list (key, Chinese and English
titles, kind) and a binary stream, write as the rows arrive, and return how many rows
they wrote.

CSV is UTF-8 with a byte-order mark (without it Excel in China reads the bytes as
GBK), CRLF and RFC 4180 quoting. A text cell starting with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return gets a leading apostrophe so a spreadsheet does not run it
as a formula (OWASP's CSV injection advice); a phone number such as "+86 138..."
is left alone because it is only digits (and so is a list of them).

XLSX is written by openpyxl's write-only mode. Numbers stay numbers, datetimes are
shown in the export's time zone (Excel has no zones), and phone numbers are text cells
with the text format so Excel never turns 13800138000 into 1.38E+10. Text that looks
like a formula is stored as a string with Excel's quote prefix, so it is shown and
read back exactly as written and never evaluated. A list (a lead's other numbers) is
one cell, its items separated by commas.
"""

from __future__ import annotations

import csv
import datetime as dt
import enum
import io
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, BinaryIO, Final
from zoneinfo import ZoneInfo

import openpyxl
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from callcenter.errors import Language

FORMULA_TRIGGERS: Final = ("=", "+", "-", "@", "\t", "\r")
XLSX_MAX_TEXT: Final = 32_767  # Excel's limit on the characters of one cell
DATETIME_FORMAT: Final = "%Y-%m-%d %H:%M:%S"
LIST_SEPARATOR: Final = ", "
_PHONE_TEXT: Final = re.compile(r"\+?\d[\d \-]*(?:, \+?\d[\d \-]*)*")  # one or a list
_WIDTHS: Final = {"phone": 18, "datetime": 20, "date": 12, "number": 12, "text": 16}


class ColumnKind(enum.StrEnum):
    TEXT = "text"
    PHONE = "phone"
    NUMBER = "number"
    DATETIME = "datetime"
    DATE = "date"


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    zh: str
    en: str
    kind: ColumnKind = ColumnKind.TEXT

    def title(self, language: Language) -> str:
        return self.en if language == "en" else self.zh


def write_csv(
    rows: Iterable[Mapping[str, object]],
    columns: Sequence[Column],
    out: BinaryIO,
    *,
    language: Language = "zh-CN",
    time_zone: str = "Asia/Shanghai",
) -> int:
    """Write a header and ``rows`` as UTF-8 CSV with a BOM; the number of rows written."""
    zone = ZoneInfo(time_zone)
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="")
    try:
        writer = csv.writer(text, lineterminator="\r\n")
        writer.writerow([defuse(column.title(language)) for column in columns])
        count = 0
        for row in rows:
            writer.writerow([_csv_cell(row.get(c.key), c.kind, zone) for c in columns])
            count += 1
        text.flush()
    finally:
        text.detach()
    return count


def write_xlsx(
    rows: Iterable[Mapping[str, object]],
    columns: Sequence[Column],
    out: BinaryIO,
    *,
    language: Language = "zh-CN",
    time_zone: str = "Asia/Shanghai",
    sheet_title: str | None = None,
) -> int:
    """Write a header and ``rows`` as one XLSX sheet; the number of rows written."""
    zone = ZoneInfo(time_zone)
    book = openpyxl.Workbook(write_only=True)
    sheet: Any = book.create_sheet(sheet_title or ("导出结果" if language != "en" else "Export"))
    for index, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = _WIDTHS[column.kind.value]
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for column in columns:
        cell = _text_cell(sheet, column.title(language))
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    count = 0
    for row in rows:
        sheet.append([_xlsx_cell(sheet, row.get(c.key), c.kind, zone) for c in columns])
        count += 1
    book.save(out)
    return count


def defuse(text: str) -> str:
    """Text a spreadsheet will not run as a formula: an apostrophe before a trigger."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def _local(value: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """A datetime in ``zone``; a naive one is taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(zone)


def _as_time(value: object, kind: ColumnKind, zone: ZoneInfo) -> dt.date | None:
    """The datetime (local, naive) or date a DATETIME / DATE column shows, else None."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        try:
            value = dt.datetime.fromtimestamp(value, dt.UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, dt.datetime):
        local = _local(value, zone).replace(tzinfo=None)
        return local if kind is ColumnKind.DATETIME else local.date()
    if isinstance(value, dt.date):
        return value
    return None


def _number(value: object) -> int | float | Decimal | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | Decimal):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    return None


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):  # a lead's other numbers: "+86139..., +86106..."
        return LIST_SEPARATOR.join(_text(item) for item in value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return str(value)


def _csv_cell(value: object, kind: ColumnKind, zone: ZoneInfo) -> str:
    if value is None:
        return ""
    if kind in (ColumnKind.DATETIME, ColumnKind.DATE):
        moment = _as_time(value, kind, zone)
        if isinstance(moment, dt.datetime):
            return moment.strftime(DATETIME_FORMAT)
        if moment is not None:
            return moment.isoformat()
    if kind is ColumnKind.NUMBER and (number := _number(value)) is not None:
        return str(number)
    text = _text(value)
    if kind is ColumnKind.PHONE and _PHONE_TEXT.fullmatch(text):
        return text
    return defuse(text)


def _text_cell(sheet: Any, text: str) -> Any:
    text = ILLEGAL_CHARACTERS_RE.sub("", text)[:XLSX_MAX_TEXT]
    cell = WriteOnlyCell(sheet, value=text)
    cell.data_type = "s"
    if text.startswith(FORMULA_TRIGGERS):
        cell.quotePrefix = True
    return cell


def _xlsx_cell(sheet: Any, value: object, kind: ColumnKind, zone: ZoneInfo) -> Any:
    if value is None:
        return None
    if kind in (ColumnKind.DATETIME, ColumnKind.DATE):
        moment = _as_time(value, kind, zone)
        if moment is not None:
            cell = WriteOnlyCell(sheet, value=moment)
            is_datetime = isinstance(moment, dt.datetime)
            cell.number_format = "yyyy-mm-dd hh:mm:ss" if is_datetime else "yyyy-mm-dd"
            return cell
    if kind is ColumnKind.NUMBER and (number := _number(value)) is not None:
        return number
    cell = _text_cell(sheet, _text(value))
    if kind is ColumnKind.PHONE:
        cell.number_format = "@"
    return cell
