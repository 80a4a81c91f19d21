"""Settings: one TOML file plus CALLCENTER_* environment variables.

Precedence, highest first: explicit overrides (command-line flags), environment
variables (``CALLCENTER_HTTP__PORT=9000``, nested sections joined by ``__``), the TOML
file (``--config FILE`` or ``CALLCENTER_CONFIG``), then the defaults below. The
defaults need no file at all: SQLite at ``./var/callcenter.db`` and recordings under
``./var/recordings``.

A bad value stops start-up with :class:`SettingsError`, whose message names the
setting, the value and what was expected, in Chinese and English.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

ENV_PREFIX = "CALLCENTER_"
ENV_CONFIG_FILE = "CALLCENTER_CONFIG"


class SettingsError(Exception):
    """The settings could not be loaded; the message is meant for the operator."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HttpSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    # Addresses of reverse proxies whose X-Forwarded-For is believed for the audit trail.
    trusted_proxies: tuple[str, ...] = ()
    cookie_secure: bool = False


class DatabaseSettings(_Section):
    # None means SQLite at <data_dir>/callcenter.db.
    url: str | None = None
    echo: bool = False
    pool_size: int = Field(default=10, ge=1, le=200)

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, value: str | None) -> str | None:
        if value is None:
            return None
        scheme = value.split(":", 1)[0].split("+", 1)[0]
        if scheme not in ("sqlite", "postgresql", "postgres"):
            raise ValueError("must start with sqlite:// or postgresql://")
        return value


class AuthSettings(_Section):
    session_hours: float = Field(default=12.0, gt=0, le=24 * 30)
    api_token_days: int = Field(default=90, ge=1, le=3650)
    max_failed_logins: int = Field(default=5, ge=1, le=100)
    failure_window_seconds: int = Field(default=900, ge=1)
    lockout_seconds: int = Field(default=900, ge=1)
    cookie_name: str = Field(default="cc_session", pattern=r"^[A-Za-z0-9_]{1,64}$")


class TrunkRouteSettings(_Section):
    """A carrier trunk as least-cost routing sees it: its cost per minute, the numbers
    it serves (dialled prefixes, carriers such as "China Mobile", regions such as "CN";
    empty: any), its channel and new-call limits and how long it may take to answer."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    cost: float = Field(default=0.0, ge=0)
    prefixes: tuple[str, ...] = ()
    carriers: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    max_channels: int = Field(default=0, ge=0)  # 0: no limit
    max_cps: float = Field(default=0.0, ge=0)  # new outbound calls per second; 0: no limit
    # No sign of life (ringing, progress) from the trunk this long: the next one is tried.
    setup_timeout_seconds: float = Field(default=5.0, gt=0, le=60)


class SimSettings(_Section):
    """The simulated telephone network (the demo's): bot agents and callers."""

    bot_agents: int = Field(default=8, ge=0, le=500)
    first_agent_no: int = Field(default=2001, ge=1, le=99_999_000)
    # Poisson arrivals of callers at the DID; 0 switches the callers off.
    calls_per_hour: float = Field(default=180.0, ge=0, le=100_000)
    did: str = Field(default="4008001000", pattern=r"^[0-9+*#]{1,32}$")
    seed: int = 1
    # Carrier trunks outbound calls are routed over (empty: no routing, any trunk).
    trunks: tuple[TrunkRouteSettings, ...] = ()


class SipTrunkSettings(TrunkRouteSettings):
    """One carrier trunk of the SIP switch (outbound calls; inbound by source address)."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    host: str = Field(min_length=1)
    port: int = Field(default=5060, ge=1, le=65535)
    transport: Literal["udp"] = "udp"
    # Digest credentials answering the carrier's challenges (IP authentication: none).
    username: str | None = None
    password: str | None = None
    caller_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9+*._-]{1,64}$")
    max_channels: int = Field(default=0, ge=0)  # 0: no limit
    max_cps: float = Field(default=0.0, ge=0)  # new outbound calls per second; 0: no limit


class SipSettings(_Section):
    """The SIP switch: where it listens (SIP and RTP), its trunks, DIDs and phones."""

    host: str = "127.0.0.1"
    port: int = Field(default=5060, ge=0, le=65535)  # 0: any free port (tests)
    media_host: str = "127.0.0.1"
    trunks: tuple[SipTrunkSettings, ...] = ()
    # Numbers dialled by carriers that reach the service queue.
    dids: tuple[str, ...] = ()
    # Agents' phones: extension -> digest password (per-extension secrets, for now here).
    phones: dict[str, str] = {}
    realm: str = "callcenter"
    # Digest algorithms offered to phones; baresip 1.0.0 and SIPp 3.6.1 need MD5 alone.
    digest_algorithms: tuple[Literal["MD5", "SHA-256"], ...] = ("MD5",)
    # Signs the registrar's stateless nonces; empty: a random one at each start.
    nonce_secret: str = ""
    # A bridged call whose far end sends no RTP this long is hung up (0: never).
    rtp_timeout_seconds: float = Field(default=0.0, ge=0, le=3600)
    # RFC 4028 session refresh interval (Session-Expires) offered and accepted.
    session_expires_seconds: int = Field(default=1800, ge=90, le=86400)
    # The calls' media on the media engine (the ``media`` section): prompts, music on
    # hold, digits, recordings, conferences. Off: RTP is relayed as it comes, no media.
    media_engine: bool = False


class TelephonySettings(_Section):
    # "none": the platform runs without telephony (administration only);
    # "sim": the simulated network (what `callcenter demo` uses);
    # "sip": the SIP switch with real trunks and phones (the ``sip`` section).
    switch: Literal["none", "sim", "sip"] = "none"
    wrap_up_seconds: float = Field(default=10.0, ge=0, le=3600)
    ring_timeout_seconds: float = Field(default=20.0, gt=0, le=300)
    # Waiting callers hear their place in line and the expected wait this often (0: never).
    announce_every_seconds: float = Field(default=30.0, ge=0, le=3600)
    # The number desk calls and consultations to a number present; empty: none of ours, so a
    # SIP trunk presents its own ``caller_id`` (and the carrier its account's).
    caller_id: str = Field(default="", pattern=r"^[A-Za-z0-9+*._-]{0,64}$")
    sim: SimSettings = SimSettings()
    sip: SipSettings = SipSettings()


class MediaSettings(_Section):
    """The media engine processes: where RTP is bound, which ports, how many engines."""

    address: str = "127.0.0.1"
    port_min: int = Field(default=20000, ge=1024, le=65534)
    port_max: int = Field(default=39998, ge=1025, le=65535)
    rtcp: bool = False  # bind port + 1 for RTCP
    engines: int = Field(default=1, ge=1, le=64)  # processes; one per core when asked
    recording_format: Literal["pcm16", "alaw", "ulaw", "gsm"] = "pcm16"
    recording_stereo: bool = True  # customer left, agent right
    rtp_timeout_seconds: float = Field(default=0.0, ge=0, le=3600)  # 0: never
    # Music on hold and in the queue: a WAV file, looped; empty: the ringback tone.
    music_on_hold: str = ""
    # Prompts the core names, each a WAV file (any rate: resampled once).
    prompts: dict[str, str] = {}
    tone_plan: Literal["cn", "us"] = "cn"  # ringback, busy, congestion, dial
    voice: str = "cmn"  # espeak-ng's voice for prompts given as text (say:...)


class Settings(_Section):
    data_dir: Path = Path("var")
    recordings_dir: Path | None = None
    language: Literal["zh-CN", "en"] = "zh-CN"
    # The site's wall clock: membership windows and schedules are in this zone.
    timezone: str = "Asia/Shanghai"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    http: HttpSettings = HttpSettings()
    database: DatabaseSettings = DatabaseSettings()
    auth: AuthSettings = AuthSettings()
    telephony: TelephonySettings = TelephonySettings()
    media: MediaSettings = MediaSettings()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("must be an IANA time zone such as Asia/Shanghai") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def recordings_path(self) -> Path:
        return self.recordings_dir or self.data_dir / "recordings"

    @property
    def database_url(self) -> str:
        """The configured URL, or SQLite inside the data directory."""
        if self.database.url:
            return self.database.url
        return f"sqlite:///{(self.data_dir / 'callcenter.db').as_posix()}"


def load_settings(
    config_file: Path | None = None,
    *,
    environ: dict[str, str] | None = None,
    overrides: dict[str, Any] | None = None,
) -> Settings:
    """Build validated settings from the file, the environment and overrides."""
    env = dict(os.environ if environ is None else environ)
    data: dict[str, Any] = {}
    path = config_file or (Path(env[ENV_CONFIG_FILE]) if env.get(ENV_CONFIG_FILE) else None)
    if path is not None:
        data = _read_toml(path)
    _merge(data, _from_environment(env))
    _merge(data, overrides or {})
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise SettingsError(_describe(exc, path)) from None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise SettingsError(f"配置文件不存在 / settings file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(
            f"配置文件不是合法的 TOML / settings file is not valid TOML: {path}: {exc}"
        ) from None


def _from_environment(env: dict[str, str]) -> dict[str, Any]:
    """CALLCENTER_HTTP__PORT=9000 -> {"http": {"port": "9000"}} (pydantic converts)."""
    result: dict[str, Any] = {}
    for key, value in env.items():
        if not key.startswith(ENV_PREFIX) or key == ENV_CONFIG_FILE:
            continue
        parts = key[len(ENV_PREFIX) :].lower().split("__")
        node = result
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise SettingsError(f"环境变量冲突 / conflicting environment variable: {key}")
        leaf = parts[-1]
        node[leaf] = value.split(",") if leaf == "trusted_proxies" else value
    return result


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


def _describe(exc: ValidationError, path: Path | None) -> str:
    where = f" ({path})" if path else ""
    lines = [f"配置无效 / invalid settings{where}:"]
    for error in exc.errors():
        name = ".".join(str(part) for part in error["loc"])
        env_name = ENV_PREFIX + "__".join(str(part) for part in error["loc"]).upper()
        value = error.get("input")
        shown = "" if isinstance(value, dict) else f" = {value!r}"
        lines.append(f"  - {name}{shown}: {error['msg']} (环境变量 / env: {env_name})")
    return "\n".join(lines)
