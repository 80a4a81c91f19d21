"""The rows of a lead file: CSV (UTF-8 or GBK/GB18030, any delimiter) or XLSX, as text cells.

Theory of operation
-------------------
:func:`open_rows` recognises the file (XLSX by its zip signature or name; CSV, TSV and
TXT by name; the old binary XLS is refused with advice) and returns a :class:`Rows`:
(row number, cells as text) pairs, and how far through the file a row is.

CSV text is never decoded twice into memory. A UTF-8 or UTF-16 byte-order mark
decides the encoding; otherwise one pass over the bytes checks strict UTF-8 with an
incremental decoder (nothing kept), and if that fails GB18030 (a superset of GBK and
GB2312) is checked the same way. Then the rows are read through a text wrapper, the
first 64 KiB of text also serving to choose the delimiter (comma, tab, semicolon).
XLSX is read with openpyxl's read-only mode, row by row. A stream that cannot seek is
spooled first (:func:`seekable`).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import io
import itertools
import warnings
from collections.abc import Iterator
from decimal import Decimal
from pathlib import PurePath
from tempfile import SpooledTemporaryFile
from typing import IO, Any, BinaryIO, Final

import openpyxl

from callcenter.app.leadfile_errors import (
    CorruptXlsx,
    EmptyLeadFile,
    LeadFileError,
    MalformedCsv,
    SheetNotFound,
    UndecodableText,
    UnsupportedFileType,
    XlsNotSupported,
)

SAMPLE_CHARS: Final = 64 * 1024
CHUNK_BYTES: Final = 256 * 1024
XLSX_BATCH: Final = 512


def seekable(data: bytes | BinaryIO, stack: contextlib.ExitStack) -> IO[bytes]:
    if isinstance(data, bytes | bytearray | memoryview):
        return io.BytesIO(data)
    if data.seekable():
        return data
    return stack.enter_context(_spooled(data))


@contextlib.contextmanager
def _spooled(data: BinaryIO) -> Iterator[IO[bytes]]:
    """A seekable copy of a stream that cannot seek (in memory up to 16 MiB)."""
    with SpooledTemporaryFile(max_size=16 << 20) as spool:
        while chunk := data.read(CHUNK_BYTES):
            spool.write(chunk)
        spool.seek(0)
        yield spool


def open_rows(stream: IO[bytes], filename: str, size: int, sheet: str | None) -> Rows:
    head = stream.read(8)
    stream.seek(0)
    suffix = PurePath(filename).suffix.lower()
    if head.startswith(b"\xd0\xcf\x11\xe0") or suffix == ".xls":
        raise XlsNotSupported(filename=filename)
    if head.startswith(b"PK\x03\x04") or suffix in (".xlsx", ".xlsm"):
        return _XlsxRows(stream, sheet)
    if suffix in (".csv", ".tsv", ".txt", ""):
        return _CsvRows(stream, size, tab_first=suffix == ".tsv")
    raise UnsupportedFileType(filename=filename)


class Rows:
    """A source of (row number, cells as text), with what it knows of its progress."""

    file_format = ""
    encoding = ""
    delimiter = ""
    sheet = ""

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        raise NotImplementedError

    def fraction(self, row: int) -> float:
        raise NotImplementedError

    def close(self) -> None:
        """Release what the source holds."""


class _CsvRows(Rows):
    file_format = "csv"

    def __init__(self, stream: IO[bytes], size: int, *, tab_first: bool) -> None:
        self._stream = stream
        self._size = size
        self.encoding = _detect_encoding(stream)
        stream.seek(0)
        self._text = io.TextIOWrapper(stream, encoding=self.encoding, newline="")
        try:
            self._sample = self._text.read(SAMPLE_CHARS) + self._text.readline()
        except UnicodeDecodeError:
            self.close()
            raise UndecodableText(row=1) from None
        self.delimiter = _sniff_delimiter(self._sample, tab_first=tab_first)

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        sample, self._sample = self._sample, ""
        lines = itertools.chain(io.StringIO(sample, newline=""), self._text)
        del sample
        reader = csv.reader(lines, delimiter=self.delimiter)
        row = 0
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError:
                raise UndecodableText(row=row + 1) from None
            except csv.Error as exc:
                raise MalformedCsv(row=row + 1, problem=str(exc)) from None
            row += 1
            yield row, cells

    def fraction(self, row: int) -> float:
        return min(1.0, self._stream.tell() / self._size) if self._size else 1.0

    def close(self) -> None:
        with contextlib.suppress(ValueError):
            self._text.detach()


class _XlsxRows(Rows):
    file_format = "xlsx"

    def __init__(self, stream: IO[bytes], sheet: str | None) -> None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._book: Any = openpyxl.load_workbook(stream, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl fails on damaged files in many ways
            raise CorruptXlsx(problem=type(exc).__name__) from None
        try:
            if sheet is not None:
                if sheet not in self._book.sheetnames:
                    raise SheetNotFound(sheet=sheet, sheets="、".join(self._book.sheetnames))
                self._sheet: Any = self._book[sheet]
            elif self._book.worksheets:
                self._sheet = self._book.worksheets[0]
            else:
                raise EmptyLeadFile(row=1)
            if not hasattr(self._sheet, "iter_rows"):
                raise EmptyLeadFile(row=1)
            self.sheet = str(self._sheet.title)
            max_row = self._sheet.max_row
        except LeadFileError:
            self.close()
            raise
        except Exception as exc:
            self.close()
            raise CorruptXlsx(problem=type(exc).__name__) from None
        self._max_row = max_row if isinstance(max_row, int) and max_row > 0 else None

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        row = 0
        try:
            source = self._sheet.iter_rows(values_only=True)
        except Exception:
            raise CorruptXlsx(row=1) from None
        while True:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    batch = list(itertools.islice(source, XLSX_BATCH))
            except Exception:
                raise CorruptXlsx(row=row + 1) from None
            if not batch:
                return
            for values in batch:
                row += 1
                yield row, [cell_text(value) for value in values]

    def fraction(self, row: int) -> float:
        return min(1.0, row / self._max_row) if self._max_row else 0.0

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._book.close()


def cell_text(value: object) -> str:
    """A spreadsheet cell as text; whole floats lose their ".0" (13800138000.0)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time() and value.tzinfo is None:
            return value.date().isoformat()  # a date cell: Excel keeps dates as midnights
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _detect_encoding(stream: IO[bytes]) -> str:
    head = stream.read(4)
    stream.seek(0)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if _first_error(stream, "utf-8") is None:
        return "utf-8"
    stream.seek(0)
    error_line = _first_error(stream, "gb18030")
    if error_line is None:
        return "gb18030"
    raise UndecodableText(row=error_line)


def _first_error(stream: IO[bytes], encoding: str) -> int | None:
    """The line of the first byte ``encoding`` cannot decode, None when all decode."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    lines = 1
    while True:
        chunk = stream.read(CHUNK_BYTES)
        try:
            decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError as exc:
            return lines + chunk.count(b"\n", 0, max(0, exc.start))
        if not chunk:
            return None
        lines += chunk.count(b"\n")


def _sniff_delimiter(sample: str, *, tab_first: bool) -> str:
    """The delimiter that splits the first lines into the most consistent columns."""
    lines = [line for line in sample.splitlines()[:50] if line.strip()]
    candidates = ("\t", ",", ";") if tab_first else (",", "\t", ";")
    best, best_score = candidates[0], (0, 0)
    for delimiter in candidates:
        try:
            widths = [len(cells) for cells in csv.reader(lines, delimiter=delimiter)]
        except csv.Error:
            continue
        if not widths or widths[0] < 2:
            continue
        score = (sum(width == widths[0] for width in widths), widths[0])
        if score > best_score:
            best, best_score = delimiter, score
    return best
