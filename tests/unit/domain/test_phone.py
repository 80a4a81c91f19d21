"""Numbers from Chinese lead lists: messy forms, carriers, reasons, and the fast path."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import carrier, geocoder, timezone

from callcenter.domain.phone import (
    REASON_TEXT,
    NumberType,
    PhoneError,
    PhoneInfo,
    PhoneNormaliser,
    PhoneReason,
    normalise,
)


def info(raw: str, region: str = "CN") -> PhoneInfo:
    result = normalise(raw, region)
    assert isinstance(result, PhoneInfo), result
    return result


def reason(raw: str, region: str = "CN") -> PhoneReason:
    result = normalise(raw, region)
    assert isinstance(result, PhoneError), result
    return result.reason


@pytest.mark.parametrize(
    "raw",
    [
        "13800138000",
        "138 0013 8000",
        "138-0013-8000",
        "１３８００１３８０００",
        "１３８－００１３－８０００",
        "+86 138 0013 8000",
        "+8613800138000",
        "＋86 13800138000",
        "(+86) 138-0013-8000",
        "0086 138 0013 8000",
        "008613800138000",
        "86 13800138000",
        "8613800138000",
        " 13800138000\u200b ",
        "\ufeff13800138000",
        "13800138000.0",
        "1.3800138000E+10",
    ],
)
def test_every_shape_of_a_mobile_number_gives_the_same_e164(raw: str) -> None:
    """Spaces, dashes, full width, +86 / 0086 / 86 and Excel's float all name one number."""
    phone = info(raw)
    assert phone.e164 == "+8613800138000"
    assert phone.national == "138 0013 8000"
    assert phone.region == "CN"
    assert phone.country_code == 86
    assert phone.number_type is NumberType.MOBILE


@pytest.mark.parametrize(
    ("raw", "zh", "en"),
    [
        ("13800138000", "中国移动", "China Mobile"),
        ("18600000000", "中国联通", "China Unicom"),
        ("18900000000", "中国电信", "China Telecom"),
        ("19200000000", "中国广电", "China Broadnet"),
    ],
)
def test_the_four_chinese_mobile_carriers_are_named_in_both_languages(
    raw: str, zh: str, en: str
) -> None:
    phone = info(raw)
    assert (phone.carrier_zh, phone.carrier_en) == (zh, en)
    assert phone.carrier_code == en.lower().replace(" ", "-")
    assert not phone.virtual_operator


def test_virtual_operator_ranges_are_flagged_with_their_host_carrier() -> None:
    """170 is a 虚拟运营商 range phonenumbers attributes to China Telecom."""
    mvno = info("17012345678")
    assert mvno.virtual_operator
    assert mvno.carrier_zh == "中国电信"
    assert info("17112345678").virtual_operator
    assert info("16512345678").virtual_operator


def test_a_beijing_mobile_has_its_place_and_zone() -> None:
    phone = info("13800138000")
    assert phone.location_zh == "北京市"
    assert phone.location_en == "Beijing"
    assert phone.time_zones == ("Asia/Shanghai",)
    assert phone.time_zone == "Asia/Shanghai"


@pytest.mark.parametrize(
    ("raw", "place"),
    [
        ("010-12345678", "北京市"),
        ("(010) 1234 5678", "北京市"),
        ("021 1234 5678", "上海市"),
        ("0755-12345678", "广东省深圳市"),
        ("+86 10 1234 5678", "北京市"),
        ("86 010 12345678", "北京市"),
    ],
)
def test_landlines_keep_their_area_with_or_without_the_trunk_zero(raw: str, place: str) -> None:
    phone = info(raw)
    assert phone.number_type is NumberType.FIXED_LINE
    assert phone.location_zh == place
    assert phone.national.startswith("0")
    assert phone.carrier_en == ""


@pytest.mark.parametrize(
    ("raw", "extension"),
    [
        ("010-12345678转123", "123"),
        ("010-12345678 转 8001", "8001"),
        ("010-12345678 分机 66", "66"),
        ("010 1234 5678 ext. 12", "12"),
        ("010 1234 5678 EXT 12", "12"),
        ("010 1234 5678 x12", "12"),
        ("010-12345678#9", "9"),
    ],
)
def test_extensions_are_split_off(raw: str, extension: str) -> None:
    phone = info(raw)
    assert phone.e164 == "+861012345678"
    assert phone.extension == extension


@pytest.mark.parametrize(
    ("raw", "number_type"),
    [
        ("800-810-1234", NumberType.TOLL_FREE),
        ("400-810-1234", NumberType.SHARED_COST),
        ("13800138000", NumberType.MOBILE),
        ("010-12345678", NumberType.FIXED_LINE),
    ],
)
def test_number_types(raw: str, number_type: NumberType) -> None:
    assert info(raw).number_type is number_type


def test_foreign_numbers_keep_their_own_region_and_zone() -> None:
    us = info("+1 212 555 1234")
    assert (us.region, us.e164, us.time_zone) == ("US", "+12125551234", "America/New_York")
    hk = info("+852 9876 5432")
    assert (hk.region, hk.time_zone) == ("HK", "Asia/Hong_Kong")
    from_us = info("(212) 555-1234", "US")
    assert from_us.e164 == "+12125551234"


def test_a_number_spanning_zones_is_called_in_its_region_default_zone() -> None:
    """A US toll-free number may ring anywhere in the US: New York's hours apply."""
    toll_free = info("+1 800 555 1234")
    assert len(toll_free.time_zones) > 1
    assert toll_free.time_zone == "America/New_York"
    russia = info("+7 916 123 4567")
    assert russia.time_zone == "Europe/Moscow"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", PhoneReason.EMPTY),
        ("   ", PhoneReason.EMPTY),
        ("\u3000", PhoneReason.EMPTY),
        ("abc", PhoneReason.NOT_A_NUMBER),
        ("1-800-FLOWERS", PhoneReason.NOT_A_NUMBER),
        ("138o0138000", PhoneReason.NOT_A_NUMBER),
        ("+", PhoneReason.NOT_A_NUMBER),
        ("13800138000.5", PhoneReason.NOT_A_NUMBER),
        ("2024-01-01 00:00:00", PhoneReason.NOT_A_NUMBER),
        ("1.38001E+10", PhoneReason.DIGITS_LOST),
        ("1.38E+10", PhoneReason.DIGITS_LOST),
        ("1.3800138E+10", PhoneReason.DIGITS_LOST),
        ("1.38E+1", PhoneReason.NOT_A_NUMBER),
        ("12", PhoneReason.TOO_SHORT),
        ("+86 1", PhoneReason.TOO_SHORT),
        ("1" * 21, PhoneReason.TOO_LONG),
        ("+86 138001380001234567", PhoneReason.TOO_LONG),
        ("1" * 300, PhoneReason.TOO_LONG),
        ("+999 1234567", PhoneReason.UNSUPPORTED_REGION),
        ("12345678", PhoneReason.INVALID),
        ("1380013800", PhoneReason.INVALID),
        ("10012345678", PhoneReason.INVALID),
    ],
)
def test_each_rejection_has_a_stable_reason(raw: str, expected: PhoneReason) -> None:
    assert reason(raw) is expected


def test_every_reason_has_a_message_in_chinese_and_english() -> None:
    assert set(REASON_TEXT) == set(PhoneReason)
    error = PhoneError(PhoneReason.DIGITS_LOST, "1.38001E+10")
    assert error.code == "digits-lost"
    assert "科学计数法" in error.zh
    assert "scientific notation" in error.en
    for zh, en in REASON_TEXT.values():
        assert zh and en and zh != en


def test_a_normaliser_can_be_limited_to_some_regions() -> None:
    china_only = PhoneNormaliser("CN", allowed_regions={"cn"})
    assert isinstance(china_only.normalise("13800138000"), PhoneInfo)
    foreign = china_only.normalise("+1 212 555 1234")
    assert isinstance(foreign, PhoneError)
    assert foreign.reason is PhoneReason.UNSUPPORTED_REGION


def test_an_unknown_default_region_does_not_raise() -> None:
    assert reason("13800138000", "ZZ") is PhoneReason.UNSUPPORTED_REGION
    assert info("+8613800138000", "ZZ").region == "CN"


def test_a_non_string_is_not_a_number() -> None:
    weird: object = 13800138000
    assert PhoneNormaliser().normalise(weird).reason is PhoneReason.NOT_A_NUMBER  # type: ignore[arg-type, union-attr]


def test_the_normaliser_remembers_answers() -> None:
    normaliser = PhoneNormaliser("CN", cache_size=4)
    first = normaliser.normalise("138 0013 8000")
    assert normaliser.normalise("138 0013 8000") is first


def _slow(national: str) -> PhoneInfo | PhoneError:
    """The same number asked of phonenumbers' own functions, one by one."""
    number = phonenumbers.parse("+86" + national)
    if not phonenumbers.is_valid_number(number):
        return PhoneError(PhoneReason.INVALID, national)
    return PhoneInfo(
        e164=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        national=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL),
        region=phonenumbers.region_code_for_number(number) or "",
        country_code=86,
        number_type=NumberType(_TYPE_NAMES[phonenumbers.number_type(number)]),
        carrier_zh=carrier.name_for_number(number, "zh"),
        carrier_en=carrier.name_for_number(number, "en"),
        virtual_operator=national[:3] in {"162", "165", "167", "170", "171"},
        location_zh=geocoder.description_for_number(number, "zh"),
        location_en=geocoder.description_for_number(number, "en"),
        time_zones=tuple(timezone.time_zones_for_number(number)),
        time_zone="Asia/Shanghai",
    )


_TYPE_NAMES = {
    phonenumbers.PhoneNumberType.MOBILE: "mobile",
    phonenumbers.PhoneNumberType.FIXED_LINE: "fixed-line",
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed-line-or-mobile",
    phonenumbers.PhoneNumberType.UNKNOWN: "unknown",
}


@settings(max_examples=150, deadline=None, database=None)
@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
def test_the_mobile_fast_path_agrees_with_phonenumbers(national: str) -> None:
    """Per-prefix facts give the same answer as asking phonenumbers for each number."""
    fast = PhoneNormaliser("CN").normalise(national)
    slow = _slow(national)
    assert fast == slow


def test_the_fast_path_reuses_a_prefix_for_other_numbers_correctly() -> None:
    normaliser = PhoneNormaliser("CN")
    for national in ("13800138000", "13800139999", "13812345678", "13899999999"):
        assert normaliser.normalise(national) == _slow(national)


@settings(max_examples=250, deadline=None, database=None)
@given(st.text(max_size=40))
def test_normalise_never_raises_on_any_text(raw: str) -> None:
    result = normalise(raw)
    assert isinstance(result, PhoneInfo | PhoneError)
    if isinstance(result, PhoneInfo):
        parsed = phonenumbers.parse(result.e164)
        assert phonenumbers.is_valid_number(parsed)


@settings(max_examples=150, deadline=None, database=None)
@given(
    st.lists(st.sampled_from("0123456789+-() .０１２３４５６７８９转ext#"), max_size=25).map(
        "".join
    ),
    st.sampled_from(["CN", "US", "HK", "GB"]),
)
def test_normalise_never_raises_on_number_like_text(raw: str, region: str) -> None:
    result = PhoneNormaliser(region).normalise(raw)
    assert isinstance(result, PhoneInfo | PhoneError)
