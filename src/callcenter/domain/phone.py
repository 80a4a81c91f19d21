"""Telephone numbers as they arrive in lead lists, normalised with phonenumbers.

Theory of operation
-------------------
A number typed into a spreadsheet in China arrives in many shapes: "138 0013 8000",
"138-0013-8000", full-width "１３８００１３８０００", "+86 138...", "0086 138...",
"86138...", a landline with its trunk 0 ("010-12345678"), an extension ("转123",
"ext. 12", "分机 8"), or Excel's renderings of a number cell: "13800138000.0" and,
when the cell was shown in scientific notation, "1.38001E+10" (whose last digits are
gone). :meth:`PhoneNormaliser.normalise` cleans the text (NFKC folds full-width forms,
separators go, the extension is split off), refuses what cannot be a number, and hands
the digits to phonenumbers. The answer is a :class:`PhoneInfo` (E.164, national form,
region, number type, carrier in Chinese and English, location, time zones and the one
zone used for calling hours) or a :class:`PhoneError` whose :class:`PhoneReason` is a
stable code with a message in Chinese and English. It never raises.

phonenumbers costs about 200 µs for a full answer, too slow for lists of hundreds of
thousands of rows. Two things make it fast without a module-level cache: the
normaliser object keeps an LRU of raw text to answer (lists repeat numbers), and
Chinese mobile numbers (most of every list) take a fast path. Their validity, type,
carrier and zone depend only on the first five digits, their location on the first
seven (the 号段, the longest prefix in phonenumbers' data for +86 1), so each is asked
of phonenumbers once per prefix and reused; the tests check the fast path against
phonenumbers number by number.
"""

from __future__ import annotations

import enum
import functools
import re
import types
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from typing import Final

import phonenumbers


class NumberType(enum.StrEnum):
    FIXED_LINE = "fixed-line"
    MOBILE = "mobile"
    FIXED_LINE_OR_MOBILE = "fixed-line-or-mobile"
    TOLL_FREE = "toll-free"
    PREMIUM_RATE = "premium-rate"
    SHARED_COST = "shared-cost"
    VOIP = "voip"
    PERSONAL_NUMBER = "personal-number"
    PAGER = "pager"
    UAN = "uan"
    VOICEMAIL = "voicemail"
    UNKNOWN = "unknown"


_TYPES: Final = {
    phonenumbers.PhoneNumberType.FIXED_LINE: NumberType.FIXED_LINE,
    phonenumbers.PhoneNumberType.MOBILE: NumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE: NumberType.FIXED_LINE_OR_MOBILE,
    phonenumbers.PhoneNumberType.TOLL_FREE: NumberType.TOLL_FREE,
    phonenumbers.PhoneNumberType.PREMIUM_RATE: NumberType.PREMIUM_RATE,
    phonenumbers.PhoneNumberType.SHARED_COST: NumberType.SHARED_COST,
    phonenumbers.PhoneNumberType.VOIP: NumberType.VOIP,
    phonenumbers.PhoneNumberType.PERSONAL_NUMBER: NumberType.PERSONAL_NUMBER,
    phonenumbers.PhoneNumberType.PAGER: NumberType.PAGER,
    phonenumbers.PhoneNumberType.UAN: NumberType.UAN,
    phonenumbers.PhoneNumberType.VOICEMAIL: NumberType.VOICEMAIL,
}


class PhoneReason(enum.StrEnum):
    """Why a text is not a callable number; the value is the stable code."""

    EMPTY = "empty"
    NOT_A_NUMBER = "not-a-number"
    DIGITS_LOST = "digits-lost"
    TOO_SHORT = "too-short"
    TOO_LONG = "too-long"
    LOCAL_ONLY = "local-only"
    INVALID = "invalid"
    UNSUPPORTED_REGION = "unsupported-region"


REASON_TEXT: Final[dict[PhoneReason, tuple[str, str]]] = {
    PhoneReason.EMPTY: ("号码为空", "the number is empty"),
    PhoneReason.NOT_A_NUMBER: (
        "不是电话号码（含有字母或其他符号）",
        "not a telephone number (it has letters or other symbols)",
    ),
    PhoneReason.DIGITS_LOST: (
        "号码被 Excel 显示为科学计数法，末尾数字已丢失，请将该列设为文本后重新导出",
        "Excel showed the number in scientific notation and its last digits are lost: "
        "format the column as text and export again",
    ),
    PhoneReason.TOO_SHORT: ("号码位数太少", "the number has too few digits"),
    PhoneReason.TOO_LONG: ("号码位数太多", "the number has too many digits"),
    PhoneReason.LOCAL_ONLY: (
        "缺少区号，只能在本地拨打",
        "the area code is missing: the number can only be dialled locally",
    ),
    PhoneReason.INVALID: ("号码无效（不存在这样的号段）", "not a valid number for its region"),
    PhoneReason.UNSUPPORTED_REGION: (
        "号码所属国家或地区无法识别或不在允许范围内",
        "the number's country or region is unknown or not allowed",
    ),
}

# Mobile ranges China's MIIT gave to virtual network operators (虚拟运营商).
VIRTUAL_OPERATOR_PREFIXES: Final = ("162", "165", "167", "170", "171")

# The zone used for calling hours when a number may lie in several (a toll-free or
# mobile number of a country spanning zones): the zone of the country's capital.
REGION_DEFAULT_ZONE: Final = {
    "CN": "Asia/Shanghai",
    "US": "America/New_York",
    "CA": "America/Toronto",
    "RU": "Europe/Moscow",
    "AU": "Australia/Sydney",
    "BR": "America/Sao_Paulo",
    "MX": "America/Mexico_City",
    "ID": "Asia/Jakarta",
    "KZ": "Asia/Almaty",
}

_MOBILE_TYPES: Final = frozenset(
    {NumberType.MOBILE, NumberType.FIXED_LINE_OR_MOBILE, NumberType.PAGER}
)
_UNKNOWN_ZONE: Final = "Etc/Unknown"
_EXTENSION = re.compile(
    r"\s*(?:转|分机|ext\.?|extension|x|#)\s*[:.]?\s*(\d{1,8})\s*$", re.IGNORECASE
)
_EXCEL_FLOAT = re.compile(r"(\d+)\.0*")
_DECIMAL_FRACTION = re.compile(r"\d{7,}\.\d*[1-9]\d*")
_EXCEL_SCIENTIFIC = re.compile(r"(\d)(?:\.(\d+))?[eE]\+?(\d{1,2})")
_PUNCTUATION = re.compile(r"[\s\-().\/]+")
_CN_MOBILE = re.compile(r"1[3-9]\d{9}")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
_MAX_DIGITS: Final = 20
_MAX_PLACES: Final = 200_000


@dataclass(frozen=True, slots=True)
class PhoneInfo:
    """A valid number with what phonenumbers knows about it."""

    e164: str
    national: str
    region: str
    country_code: int
    number_type: NumberType
    carrier_zh: str
    carrier_en: str
    virtual_operator: bool
    location_zh: str
    location_en: str
    time_zones: tuple[str, ...]
    time_zone: str
    extension: str = ""

    @property
    def carrier_code(self) -> str:
        """A slug of the carrier's English name ("china-mobile"), "" when unknown."""
        return "-".join(self.carrier_en.lower().split())


@dataclass(frozen=True, slots=True)
class PhoneError:
    """A text that is not a callable number, and why."""

    reason: PhoneReason
    raw: str

    @property
    def code(self) -> str:
        return self.reason.value

    @property
    def zh(self) -> str:
        return REASON_TEXT[self.reason][0]

    @property
    def en(self) -> str:
        return REASON_TEXT[self.reason][1]


@dataclass(frozen=True, slots=True)
class _RangeFacts:
    """What the first five digits of a Chinese mobile number decide."""

    valid: bool
    number_type: NumberType
    carrier_zh: str
    carrier_en: str
    time_zones: tuple[str, ...]


class PhoneNormaliser:
    """Normalises numbers for one import or one call site, remembering recent answers."""

    def __init__(
        self,
        default_region: str = "CN",
        *,
        allowed_regions: Collection[str] | None = None,
        cache_size: int = 65_536,
    ) -> None:
        self.default_region = default_region.upper()
        self.allowed_regions = (
            None if allowed_regions is None else frozenset(r.upper() for r in allowed_regions)
        )
        self._cached = functools.lru_cache(maxsize=cache_size)(self._normalise)
        self._ranges: dict[str, _RangeFacts] = {}
        self._places: dict[str, tuple[str, str]] = {}

    def normalise(self, raw: str) -> PhoneInfo | PhoneError:
        """The number in ``raw``, or why it is not one. Never raises."""
        if not isinstance(raw, str):
            return PhoneError(PhoneReason.NOT_A_NUMBER, repr(raw))
        if len(raw) > 200:
            return PhoneError(PhoneReason.TOO_LONG, raw)
        return self._cached(raw)

    def _normalise(self, raw: str) -> PhoneInfo | PhoneError:
        if raw.isascii() and raw.isdigit():
            digits, plus, extension = raw, False, ""
        else:
            cleaned = _clean(raw)
            if isinstance(cleaned, PhoneError):
                return cleaned
            digits, plus, extension = cleaned
        if len(digits) > _MAX_DIGITS:
            return PhoneError(PhoneReason.TOO_LONG, raw)
        if self.default_region == "CN" and (fast := self._cn_mobile(digits, plus, extension, raw)):
            return fast
        return self._parse(("+" if plus else "") + digits, raw, extension)

    # -- the Chinese mobile fast path --------------------------------------------------

    def _cn_mobile(
        self, digits: str, plus: bool, extension: str, raw: str
    ) -> PhoneInfo | PhoneError | None:
        if plus:
            national = digits[2:] if digits.startswith("86") else ""
        elif digits.startswith("0086"):
            national = digits[4:]
        elif digits.startswith("86") and len(digits) == 13:
            national = digits[2:]
        else:
            national = digits
        if not _CN_MOBILE.fullmatch(national):
            return None
        facts = self._ranges.get(national[:5])
        if facts is None:
            facts = self._ranges[national[:5]] = _range_facts(national)
        if not facts.valid:
            return PhoneError(PhoneReason.INVALID, raw)
        place = self._places.get(national[:7])
        if place is None:
            if len(self._places) >= _MAX_PLACES:
                self._places.clear()
            place = self._places[national[:7]] = _place(national)
        zones = facts.time_zones
        return PhoneInfo(
            e164="+86" + national,
            national=f"{national[:3]} {national[3:7]} {national[7:]}",
            region="CN",
            country_code=86,
            number_type=facts.number_type,
            carrier_zh=facts.carrier_zh,
            carrier_en=facts.carrier_en,
            virtual_operator=national.startswith(VIRTUAL_OPERATOR_PREFIXES),
            location_zh=place[0],
            location_en=place[1],
            time_zones=zones,
            time_zone=_calling_zone("CN", zones),
            extension=extension,
        )

    # -- everything else, through phonenumbers -----------------------------------------

    def _parse(self, text: str, raw: str, extension: str) -> PhoneInfo | PhoneError:
        try:
            number = phonenumbers.parse(text, self.default_region)
        except phonenumbers.NumberParseException as exc:
            return PhoneError(_PARSE_REASONS.get(exc.error_type, PhoneReason.INVALID), raw)
        possible = phonenumbers.is_possible_number_with_reason(number)
        if possible != phonenumbers.ValidationResult.IS_POSSIBLE:
            return PhoneError(_POSSIBLE_REASONS.get(possible, PhoneReason.INVALID), raw)
        if not phonenumbers.is_valid_number(number):
            return PhoneError(PhoneReason.INVALID, raw)
        region = phonenumbers.region_code_for_number(number) or ""
        if self.allowed_regions is not None and region not in self.allowed_regions:
            return PhoneError(PhoneReason.UNSUPPORTED_REGION, raw)
        zones = _zones(number)
        national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
        national_digits = str(number.national_number)
        number_type = _number_type(number)
        return PhoneInfo(
            e164=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
            national=national,
            region=region,
            country_code=number.country_code or 0,
            number_type=number_type,
            carrier_zh=_carrier(number, number_type, "zh"),
            carrier_en=_carrier(number, number_type, "en"),
            virtual_operator=region == "CN"
            and national_digits.startswith(VIRTUAL_OPERATOR_PREFIXES),
            location_zh=_describe(number, "zh"),
            location_en=_describe(number, "en"),
            time_zones=zones,
            time_zone=_calling_zone(region, zones),
            extension=extension or (number.extension or ""),
        )


def normalise(raw: str, default_region: str = "CN") -> PhoneInfo | PhoneError:
    """One number, without a cache; use a :class:`PhoneNormaliser` for many."""
    return PhoneNormaliser(default_region, cache_size=0).normalise(raw)


_PARSE_REASONS: Final = {
    phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: PhoneReason.UNSUPPORTED_REGION,
    phonenumbers.NumberParseException.NOT_A_NUMBER: PhoneReason.NOT_A_NUMBER,
    phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: PhoneReason.TOO_SHORT,
    phonenumbers.NumberParseException.TOO_SHORT_NSN: PhoneReason.TOO_SHORT,
    phonenumbers.NumberParseException.TOO_LONG: PhoneReason.TOO_LONG,
}
_POSSIBLE_REASONS: Final = {
    phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: PhoneReason.UNSUPPORTED_REGION,
    phonenumbers.ValidationResult.TOO_SHORT: PhoneReason.TOO_SHORT,
    phonenumbers.ValidationResult.TOO_LONG: PhoneReason.TOO_LONG,
    phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY: PhoneReason.LOCAL_ONLY,
    phonenumbers.ValidationResult.INVALID_LENGTH: PhoneReason.INVALID,
}


def _clean(raw: str) -> tuple[str, bool, str] | PhoneError:
    """The digits, whether an international "+" led them, and the extension."""
    text = raw if raw.isascii() else unicodedata.normalize("NFKC", raw).translate(_INVISIBLE)
    text = text.strip()
    if not text:
        return PhoneError(PhoneReason.EMPTY, raw)
    extension = ""
    if match := _EXTENSION.search(text):
        extension = match.group(1)
        text = text[: match.start()].rstrip()
    excel = _from_excel(text)
    if isinstance(excel, PhoneReason):
        return PhoneError(excel, raw)
    if excel is not None:
        text = excel
    plus = text.lstrip("( ").startswith("+")
    if plus:
        text = text.replace("+", "", 1)
    digits = _PUNCTUATION.sub("", text)
    if not digits or not digits.isascii() or not digits.isdigit():
        return PhoneError(PhoneReason.NOT_A_NUMBER, raw)
    return digits, plus, extension


def _from_excel(text: str) -> str | PhoneReason | None:
    """Digits from Excel's float ("13800138000.0") or scientific form, else None."""
    if match := _EXCEL_FLOAT.fullmatch(text):
        return match.group(1)
    if _DECIMAL_FRACTION.fullmatch(text):
        return PhoneReason.NOT_A_NUMBER
    if match := _EXCEL_SCIENTIFIC.fullmatch(text):
        mantissa = match.group(1) + (match.group(2) or "")
        exponent = int(match.group(3))
        if len(mantissa) - 1 > exponent:
            return PhoneReason.NOT_A_NUMBER
        if len(mantissa) - 1 < exponent:
            return PhoneReason.DIGITS_LOST
        return mantissa
    return None


def _range_facts(national: str) -> _RangeFacts:
    number = phonenumbers.PhoneNumber(country_code=86, national_number=int(national))
    valid = phonenumbers.is_valid_number(number)
    number_type = _number_type(number)
    return _RangeFacts(
        valid=valid,
        number_type=number_type,
        carrier_zh=_carrier(number, number_type, "zh") if valid else "",
        carrier_en=_carrier(number, number_type, "en") if valid else "",
        time_zones=_zones(number),
    )


# phonenumbers' carrier, place and zone tables take seconds to load: they are imported on
# first use, so the platform starts quickly and only an import or a dialer pays for them.
def _describe(number: phonenumbers.PhoneNumber, language: str) -> str:
    from phonenumbers import geocoder

    return str(geocoder.description_for_valid_number(number, language))


def _carrier_names() -> types.ModuleType:
    from phonenumbers import carrier

    return carrier


def _time_zones() -> types.ModuleType:
    from phonenumbers import timezone

    return timezone


def _place(national: str) -> tuple[str, str]:
    number = phonenumbers.PhoneNumber(country_code=86, national_number=int(national))
    return (
        _describe(number, "zh"),
        _describe(number, "en"),
    )


def _carrier(number: phonenumbers.PhoneNumber, number_type: NumberType, language: str) -> str:
    """The carrier a mobile range was given to; "" for other types, as phonenumbers does."""
    if number_type not in _MOBILE_TYPES:
        return ""
    return str(_carrier_names().name_for_valid_number(number, language))


def _number_type(number: phonenumbers.PhoneNumber) -> NumberType:
    return _TYPES.get(phonenumbers.number_type(number), NumberType.UNKNOWN)


def _zones(number: phonenumbers.PhoneNumber) -> tuple[str, ...]:
    zones = tuple(_time_zones().time_zones_for_number(number))
    return () if zones == (_UNKNOWN_ZONE,) else zones


def _calling_zone(region: str, zones: tuple[str, ...]) -> str:
    """The zone for calling hours: the only one, else the region's default, else ""."""
    if len(zones) == 1:
        return zones[0]
    default = REGION_DEFAULT_ZONE.get(region, "")
    if default and (not zones or default in zones):
        return default
    return zones[0] if zones else default
