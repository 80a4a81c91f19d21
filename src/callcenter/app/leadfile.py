"""Reading a lead file (名单文件): CSV or XLSX in, a stream of import events out.

Theory of operation
-------------------
:func:`read_leads` is a generator. It recognises the file (XLSX by its zip signature
or name; CSV, TSV and TXT by name; the old binary XLS is refused with advice), finds
the header row and the columns (phone, name, extra phones, custom fields) in Chinese
or English or through ``column_map`` (a cell of extra phones may hold several, between
commas, semicolons or 、), then yields one event per data row:
:class:`LeadAccepted`, :class:`RowRejected` (the reason from
:mod:`callcenter.domain.phone`), :class:`RowBlocked` (``is_blocked`` named a reason:
blacklist, do-not-call, opted out) or :class:`DuplicateMerged` (the number was on an
earlier row), with :class:`Progress` every ``progress_every`` rows and a
:class:`Summary` at the end. A problem with the file itself raises
:class:`LeadFileError` (a subclass per code), carrying the row where it applies. The
reader yields rows before it has read the whole file, so a caller that wants
all-or-nothing keeps the events until the :class:`Summary` arrives.

Rows are numbered as a spreadsheet shows them: the header is row 1 when it is the
first line, blank rows count but yield nothing.

The file's rows come from :mod:`leadfile_rows` (encodings, delimiters, XLSX) and its
errors are :mod:`leadfile_errors`. Memory grows only with the set of distinct numbers
seen, which duplicate detection needs.
"""

from __future__ import annotations

import array
import contextlib
import io
import itertools
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import BinaryIO, Final

from callcenter.app.leadfile_errors import (
    CorruptXlsx,
    EmptyLeadFile,
    LeadFileError,
    MalformedCsv,
    NoPhoneColumn,
    SheetNotFound,
    TooManyRows,
    UndecodableText,
    UnknownMappedColumn,
    UnsupportedFileType,
    XlsNotSupported,
)
from callcenter.app.leadfile_rows import Rows, cell_text, open_rows, seekable
from callcenter.domain.phone import PhoneError, PhoneInfo, PhoneNormaliser

__all__ = [
    "CorruptXlsx",
    "DuplicateMerged",
    "EmptyLeadFile",
    "FirstRows",
    "ImportEvent",
    "LeadAccepted",
    "LeadFileError",
    "MalformedCsv",
    "NoPhoneColumn",
    "Progress",
    "RowBlocked",
    "RowRejected",
    "SheetNotFound",
    "Summary",
    "TooManyRows",
    "UndecodableText",
    "UnknownMappedColumn",
    "UnsupportedFileType",
    "XlsNotSupported",
    "cell_text",
    "read_leads",
]

NORMALISER_CACHE: Final = 4_096
MAX_TITLE_ROWS: Final = 3  # rows of one text cell skipped above the header


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Header words, compared after NFKC, lower case and without blanks or punctuation.
PHONE_HEADERS: Final = _words(
    "电话 电话号码 手机 手机号 手机号码 号码 联系电话 联系方式 客户电话 移动电话 客户手机 "
    "客户手机号 客户手机号码 客户电话号码 客户号码 联系人电话 联系人手机 联系人手机号 "
    "电话1 手机1 手机号1 手机号码1 号码1 "
    "phone phonenumber phoneno mobile mobilephone mobilenumber mobileno cell cellphone tel "
    "telephone number msisdn phone1 mobile1"
)
EXTRA_PHONE_HEADERS: Final = _words(
    "备用电话 备用号码 备用手机 备用手机号 电话2 手机2 手机号2 手机号码2 号码2 其他电话 "
    "座机 固话 固定电话 办公电话 家庭电话 "
    "phone2 mobile2 altphone alternatephone otherphone landline workphone homephone"
)
# Marks a template puts on a header ("手机号码（必填）", "Phone (required)"), left out.
_HEADER_MARKS: Final = re.compile(r"(必填|选填|required|optional)$")
NAME_HEADERS: Final = _words(
    "姓名 名字 客户名称 客户姓名 客户名 联系人 名称 name fullname customername customer "
    "contact contactname"
)
ROLES: Final = ("phone", "name", "extra_phone", "ignore")
_HEADER_NOISE: Final = dict.fromkeys(map(ord, " \t_-:*()[]#./\\"))
# Between the numbers in one cell of other numbers: "13900139000, 010-62345678".
_NUMBER_LIST: Final = re.compile(r"[,;，；、]")


# --- events -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Progress:
    rows_read: int
    total_estimate: int | None
    fraction: float


@dataclass(frozen=True, slots=True)
class LeadAccepted:
    row: int
    phone: PhoneInfo
    name: str
    fields: dict[str, str]
    extra_numbers: tuple[PhoneInfo, ...] = ()
    extra_rejected: tuple[PhoneError, ...] = ()


@dataclass(frozen=True, slots=True)
class RowRejected:
    row: int
    reason_code: str
    zh: str
    en: str
    raw: str


@dataclass(frozen=True, slots=True)
class DuplicateMerged:
    row: int
    first_row: int
    e164: str


@dataclass(frozen=True, slots=True)
class RowBlocked:
    row: int
    e164: str
    reason: str


@dataclass(frozen=True, slots=True)
class Summary:
    rows_read: int
    accepted: int
    rejected: int
    duplicates: int
    blocked: int
    blank_rows: int
    header_row: int | None
    file_format: str
    encoding: str
    delimiter: str
    sheet: str
    phone_column: str
    name_column: str
    field_names: tuple[str, ...]
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    blocked_by_reason: dict[str, int] = field(default_factory=dict)


ImportEvent = Progress | LeadAccepted | RowRejected | DuplicateMerged | RowBlocked | Summary


# --- the reader -------------------------------------------------------------------


def read_leads(
    data: bytes | BinaryIO,
    filename: str,
    *,
    default_region: str = "CN",
    column_map: Mapping[str, str] | None = None,
    is_blocked: Callable[[str], str | None] = lambda e164: None,
    max_rows: int = 1_000_000,
    sheet: str | None = None,
    progress_every: int = 5_000,
) -> Iterator[ImportEvent]:
    """The events of importing ``data``; raises only :class:`LeadFileError` for the file.

    ``column_map`` maps a header as written in the file to "phone", "name",
    "extra_phone", "ignore" or the name of a custom field. ``is_blocked`` answers, for
    an E.164 number, why it may not be called (or None).
    """
    with contextlib.ExitStack() as stack:
        stream = seekable(data, stack)
        size = stream.seek(0, io.SEEK_END)
        stream.seek(0)
        if size == 0:
            raise EmptyLeadFile(row=1)
        rows = open_rows(stream, filename, size, sheet)
        stack.callback(rows.close)
        normaliser = PhoneNormaliser(default_region, cache_size=NORMALISER_CACHE)
        importer = _Import(rows, normaliser, column_map, is_blocked, max_rows)
        yield from importer.events(max(1, progress_every))


# --- columns and rows -------------------------------------------------------------


def header_key(text: str) -> str:
    """A header as compared with the known words: NFKC, lower case, no punctuation, no
    "required" mark."""
    key = unicodedata.normalize("NFKC", text).strip().lower().translate(_HEADER_NOISE)
    return _HEADER_MARKS.sub("", key) or key


@dataclass(frozen=True, slots=True)
class _Layout:
    phone: int
    phone_header: str
    name: int | None = None
    name_header: str = ""
    extra_phones: tuple[int, ...] = ()
    fields: tuple[tuple[int, str], ...] = ()


def _layout(headers: list[str], column_map: Mapping[str, str] | None, row: int) -> _Layout | None:
    roles: dict[int, str] = {}
    if column_map:
        by_key = {header_key(h): i for i, h in enumerate(headers) if h.strip()}
        for column, role in column_map.items():
            index = by_key.get(header_key(column))
            if index is None:
                raise UnknownMappedColumn(column=column, row=row)
            roles[index] = role
    mapped = set(roles.values())
    for i, header in enumerate(headers):
        if i in roles:
            continue
        key = header_key(header)
        if key in PHONE_HEADERS:
            roles[i] = "extra_phone" if "phone" in mapped else "phone"
        elif key in EXTRA_PHONE_HEADERS:
            roles[i] = "extra_phone"
        elif key in NAME_HEADERS and "name" not in mapped:
            roles[i] = "name"
        else:
            continue
        mapped.add(roles[i])
    phones = sorted(i for i, role in roles.items() if role == "phone")
    if not phones:
        return None
    names = sorted(i for i, role in roles.items() if role == "name")
    fields: list[tuple[int, str]] = []
    used: set[str] = set()
    for i, header in enumerate(headers):
        given = roles.get(i)
        if given in ROLES:
            continue
        label = given or header.strip() or f"column_{i + 1}"
        unique, n = label, 2
        while unique in used:
            unique, n = f"{label}_{n}", n + 1
        used.add(unique)
        fields.append((i, unique))
    return _Layout(
        phone=phones[0],
        phone_header=headers[phones[0]].strip(),
        name=names[0] if names else None,
        name_header=headers[names[0]].strip() if names else "",
        extra_phones=tuple(phones[1:]) + tuple(i for i, r in roles.items() if r == "extra_phone"),
        fields=tuple(fields),
    )


def _headerless(cells: list[str], normaliser: PhoneNormaliser) -> _Layout | None:
    """A file of bare numbers: the first cell of row 1 that is a number is the phone."""
    for i, cell in enumerate(cells):
        if isinstance(normaliser.normalise(cell), PhoneInfo):
            fields = tuple((j, f"column_{j + 1}") for j in range(len(cells)) if j != i)
            return _Layout(phone=i, phone_header=f"column_{i + 1}", fields=fields)
    return None


def _cell(cells: list[str], index: int | None) -> str:
    return cells[index].strip() if index is not None and index < len(cells) else ""


class FirstRows:
    """The row each number was first seen on, in 24 to 48 bytes a number.

    A dict of int to int costs over 100 bytes an entry (two int objects and a slot),
    50 MB for half a million numbers; this open-addressing table keeps the E.164
    digits and the row in two int64 arrays, probed linearly from a multiplicative
    hash and at most two-thirds full. Numbers with an extension (rare) use a dict.
    """

    def __init__(self, capacity: int = 1_024) -> None:
        self._with_extension: dict[str, int] = {}
        self._allocate(capacity)

    def _allocate(self, capacity: int) -> None:
        """Empty arrays of ``capacity`` slots, a power of two."""
        self._keys = array.array("q", bytes(8 * capacity))
        self._rows = array.array("q", bytes(8 * capacity))
        self._mask = capacity - 1
        self._shift = 65 - capacity.bit_length()
        self._used = 0

    def __len__(self) -> int:
        return self._used + len(self._with_extension)

    @property
    def nbytes(self) -> int:
        """The memory the arrays hold."""
        return 2 * self._keys.itemsize * len(self._keys)

    def first_row(self, phone: PhoneInfo, row: int) -> int:
        """The row ``phone`` was first seen on; ``row`` itself when it is new."""
        if phone.extension:
            return self._with_extension.setdefault(f"{phone.e164};ext={phone.extension}", row)
        return self._setdefault(int(phone.e164[1:]), row)

    def _slot(self, key: int) -> int:
        return ((key * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF) >> self._shift

    def _setdefault(self, key: int, row: int) -> int:
        keys, mask = self._keys, self._mask
        slot = self._slot(key)
        while (found := keys[slot]) != 0:
            if found == key:
                return self._rows[slot]
            slot = (slot + 1) & mask
        keys[slot] = key
        self._rows[slot] = row
        self._used += 1
        if self._used * 3 > 2 * (mask + 1):
            self._grow()
        return row

    def _grow(self) -> None:
        keys, rows = self._keys, self._rows
        self._allocate(2 * len(keys))
        for key, row in zip(keys, rows, strict=True):
            if key:
                self._setdefault(key, row)


class _Import:
    def __init__(
        self,
        rows: Rows,
        normaliser: PhoneNormaliser,
        column_map: Mapping[str, str] | None,
        is_blocked: Callable[[str], str | None],
        max_rows: int,
    ) -> None:
        self.rows = rows
        self.normaliser = normaliser
        self.column_map = column_map
        self.is_blocked = is_blocked
        self.max_rows = max_rows
        self.seen = FirstRows()
        self.counts: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter()
        self.blocked: Counter[str] = Counter()

    def events(self, progress_every: int) -> Iterator[ImportEvent]:
        source = iter(self.rows)
        header_row: int | None = None
        layout: _Layout | None = None
        first: Iterable[tuple[int, list[str]]] = ()
        titles: list[tuple[int, str]] = []
        for row, cells in source:
            if not any(c.strip() for c in cells):
                self.counts["blank"] += 1
                continue
            if len(titles) < MAX_TITLE_ROWS and self._is_title(cells):
                # "双十一客户名单" above the header, as templates have
                titles.append((row, "、".join(c.strip() for c in cells if c.strip())))
                continue
            layout = _layout(cells, self.column_map, row)
            header_row = row
            if layout is None and self.column_map is None:
                layout = _headerless(cells, self.normaliser)
                header_row, first = None, [(row, cells)]
            if layout is None:
                headers = "、".join(c.strip() for c in cells if c.strip())
                raise NoPhoneColumn(row=row, headers=headers[:200], sheet=self.rows.sheet)
            break
        if layout is None and titles:  # text and nothing under it: no list on this sheet
            row, text = titles[0]
            raise NoPhoneColumn(row=row, headers=text[:200], sheet=self.rows.sheet)
        if layout is None:
            raise EmptyLeadFile(row=1)
        read = 0
        for row, cells in itertools.chain(first, source):
            if not any(c.strip() for c in cells):
                self.counts["blank"] += 1
                continue
            read += 1
            if read > self.max_rows:
                raise TooManyRows(row=row, max_rows=self.max_rows)
            yield self._row(row, cells, layout)
            if read % progress_every == 0:
                fraction = self.rows.fraction(row)
                estimate = round(read / fraction) if fraction > 0 else None
                yield Progress(read, estimate, fraction)
        yield Progress(read, read, 1.0)
        yield Summary(
            rows_read=read,
            accepted=self.counts["accepted"],
            rejected=self.counts["rejected"],
            duplicates=self.counts["duplicates"],
            blocked=self.counts["blocked"],
            blank_rows=self.counts["blank"],
            header_row=header_row,
            file_format=self.rows.file_format,
            encoding=self.rows.encoding,
            delimiter=self.rows.delimiter,
            sheet=self.rows.sheet,
            phone_column=layout.phone_header,
            name_column=layout.name_header,
            field_names=tuple(name for _, name in layout.fields),
            rejected_by_reason=dict(self.rejected),
            blocked_by_reason=dict(self.blocked),
        )

    def _is_title(self, cells: list[str]) -> bool:
        """One text cell that names no column and is no number: a title, not a header."""
        filled = [c.strip() for c in cells if c.strip()]
        if len(filled) != 1:
            return False
        key = header_key(filled[0])
        mapped = {header_key(column) for column in self.column_map or ()}
        known = any(key in words for words in (PHONE_HEADERS, EXTRA_PHONE_HEADERS, NAME_HEADERS))
        known = known or key in mapped
        return not known and not isinstance(self.normaliser.normalise(filled[0]), PhoneInfo)

    def _row(self, row: int, cells: list[str], layout: _Layout) -> ImportEvent:
        raw = _cell(cells, layout.phone)
        phone = self.normaliser.normalise(raw)
        if isinstance(phone, PhoneError):
            self.counts["rejected"] += 1
            self.rejected[phone.code] += 1
            return RowRejected(row, phone.code, phone.zh, phone.en, raw)
        reason = self.is_blocked(phone.e164)
        if reason is not None:
            self.counts["blocked"] += 1
            self.blocked[reason] += 1
            return RowBlocked(row, phone.e164, reason)
        first_row = self.seen.first_row(phone, row)
        if first_row != row:
            self.counts["duplicates"] += 1
            return DuplicateMerged(row, first_row, phone.e164)
        extra: list[PhoneInfo] = []
        extra_rejected: list[PhoneError] = []
        for index in layout.extra_phones:
            for text in _NUMBER_LIST.split(_cell(cells, index)):
                if not text.strip():
                    continue
                other = self.normaliser.normalise(text.strip())
                if isinstance(other, PhoneInfo):
                    extra.append(other)
                else:
                    extra_rejected.append(other)
        self.counts["accepted"] += 1
        return LeadAccepted(
            row=row,
            phone=phone,
            name=_cell(cells, layout.name),
            fields={name: _cell(cells, index) for index, name in layout.fields},
            extra_numbers=tuple(extra),
            extra_rejected=tuple(extra_rejected),
        )
