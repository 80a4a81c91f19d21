"""The SIP switch as ``telephony.sip`` describes it: trunks with their limits, and a
registrar for the phones that never keeps a password as it was given."""

from __future__ import annotations

import pytest

from callcenter.config import SettingsError, load_settings
from callcenter.switch.sip.configured import registrar_from, sip_switch_from, trunks_from
from callcenter.switch.sip.registrar import Ha1
from callcenter.switch.sip.trunks import Trunk


def test_trunks_carry_address_credentials_caller_id_and_limits() -> None:
    settings = load_settings(
        environ={},
        overrides={
            "telephony": {
                "switch": "sip",
                "sip": {
                    "trunks": [
                        {
                            "name": "pstn",
                            "host": "192.0.2.10",
                            "port": 5080,
                            "username": "u",
                            "password": "p",
                            "caller_id": "4008001000",
                            "max_channels": 30,
                            "max_cps": 5,
                        }
                    ]
                },
            }
        },
    )
    (trunk,) = trunks_from(settings.telephony.sip)
    assert trunk == Trunk(
        "pstn", "192.0.2.10", 5080, "udp", "u", "p", "4008001000", max_channels=30, max_cps=5
    )


def test_phone_passwords_are_stored_as_digest_hashes_in_the_realm() -> None:
    settings = load_settings(
        environ={},
        overrides={"telephony": {"sip": {"phones": {"1001": "s3cret"}, "realm": "cc.example"}}},
    )
    registrar = registrar_from(settings.telephony.sip)
    assert registrar.credentials == {"1001": Ha1.of("1001", "cc.example", "s3cret")}
    assert "s3cret" not in repr(registrar.credentials)
    assert registrar.digest.realm == "cc.example"


def test_the_switch_listens_where_the_settings_say_with_its_registrar() -> None:
    settings = load_settings(
        environ={"CALLCENTER_TELEPHONY__SWITCH": "sip", "CALLCENTER_TELEPHONY__SIP__PORT": "5070"},
        overrides={"telephony": {"sip": {"phones": {"1001": "x"}}}},
    )
    assert settings.telephony.switch == "sip"
    switch = sip_switch_from(settings.telephony.sip)
    assert switch.phones is not None
    assert set(switch.phones.registrar.credentials) == {"1001"}
    assert switch.trunks == {}
    assert switch.sip.session_expires == 1800
    assert switch.rtp_timeout is None


@pytest.mark.parametrize(
    "trunk",
    [
        {"name": "t", "host": "192.0.2.1", "transport": "tcp"},
        {"name": "t", "host": "192.0.2.1", "max_channels": -1},
        {"name": "bad name", "host": "192.0.2.1"},
        {"name": "t", "host": ""},
    ],
)
def test_a_bad_trunk_stops_start_up_with_a_message_naming_it(trunk: dict[str, object]) -> None:
    with pytest.raises(SettingsError, match=r"telephony\.sip\.trunks\.0"):
        load_settings(environ={}, overrides={"telephony": {"sip": {"trunks": [trunk]}}})
