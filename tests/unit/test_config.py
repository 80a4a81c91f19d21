from __future__ import annotations

from pathlib import Path

import pytest

from callcenter.config import SettingsError, load_settings


def test_defaults_need_no_file() -> None:
    """With nothing configured: SQLite and recordings under ./var, 127.0.0.1:8080, zh-CN."""
    settings = load_settings(environ={})
    assert settings.database_url == "sqlite:///var/callcenter.db"
    assert settings.recordings_path == Path("var/recordings")
    assert (settings.http.host, settings.http.port) == ("127.0.0.1", 8080)
    assert settings.language == "zh-CN"


def test_file_then_environment_then_overrides(tmp_path: Path) -> None:
    """The environment beats the file, and command-line overrides beat both."""
    config = tmp_path / "callcenter.toml"
    config.write_text(
        'data_dir = "/srv/cc"\nlanguage = "en"\n[http]\nport = 9000\nhost = "0.0.0.0"\n'
        '[database]\nurl = "postgresql://cc@db/cc"\n'
    )
    settings = load_settings(
        config,
        environ={"CALLCENTER_HTTP__PORT": "9100", "CALLCENTER_AUTH__LOCKOUT_SECONDS": "60"},
        overrides={"http": {"host": "127.0.0.2"}},
    )
    assert settings.http.port == 9100
    assert settings.http.host == "127.0.0.2"
    assert settings.auth.lockout_seconds == 60
    assert settings.language == "en"
    assert settings.database_url == "postgresql://cc@db/cc"
    assert settings.recordings_path == Path("/srv/cc/recordings")


def test_config_file_named_by_environment(tmp_path: Path) -> None:
    config = tmp_path / "cc.toml"
    config.write_text("[http]\nport = 8181\n")
    settings = load_settings(environ={"CALLCENTER_CONFIG": str(config)})
    assert settings.http.port == 8181


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"CALLCENTER_HTTP__PORT": "eighty"}, "CALLCENTER_HTTP__PORT"),
        ({"CALLCENTER_HTTP__PORT": "70000"}, "http.port"),
        ({"CALLCENTER_DATABASE__URL": "mysql://x"}, "database.url"),
        ({"CALLCENTER_TIMEZONE": "Mars/Olympus"}, "timezone"),
        ({"CALLCENTER_LANGUAGE": "fr"}, "language"),
        ({"CALLCENTER_NO_SUCH_THING": "1"}, "no_such_thing"),
    ],
)
def test_a_bad_value_stops_start_up_with_a_clear_message(
    environ: dict[str, str], named: str
) -> None:
    """The message names the setting and its variable, in Chinese and English."""
    with pytest.raises(SettingsError) as caught:
        load_settings(environ=environ)
    message = str(caught.value)
    assert named in message
    assert "配置无效" in message and "invalid settings" in message


def test_desk_calls_present_no_number_of_ours_unless_the_site_sets_one(tmp_path: Path) -> None:
    """Unset, the platform asks for no caller ID (a SIP trunk presents its own); the file
    or the environment names the number desk calls present."""
    assert load_settings(environ={}).telephony.caller_id == ""
    config = tmp_path / "callcenter.toml"
    config.write_text('[telephony]\ncaller_id = "+864008001000"\n')
    assert load_settings(config, environ={}).telephony.caller_id == "+864008001000"
    environ = {"CALLCENTER_TELEPHONY__CALLER_ID": "4008001000"}
    assert load_settings(config, environ=environ).telephony.caller_id == "4008001000"
    environ = {"CALLCENTER_TELEPHONY__CALLER_ID": ""}
    assert load_settings(config, environ=environ).telephony.caller_id == ""


def test_a_caller_id_that_cannot_stand_in_a_sip_uri_is_refused_with_its_name() -> None:
    """A number with a space, too long, or a URI parameter in it stops start-up: the
    message names the setting, its variable and the value, in Chinese and English."""
    for bad in ("400 800 1000", "4" * 65, "4008001000;user=phone", "<sip:4000@x>"):
        with pytest.raises(SettingsError) as caught:
            load_settings(environ={}, overrides={"telephony": {"caller_id": bad}})
        message = str(caught.value)
        assert "telephony.caller_id" in message and repr(bad) in message, message
        assert "CALLCENTER_TELEPHONY__CALLER_ID" in message
        assert "配置无效" in message and "invalid settings" in message


def test_broken_or_missing_file_is_reported(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[http\nport=")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(broken, environ={})
    with pytest.raises(SettingsError, match="not found"):
        load_settings(tmp_path / "missing.toml", environ={})
