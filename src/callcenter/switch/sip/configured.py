"""The SIP switch as the settings describe it (``telephony.sip``).

Builds one :class:`SipSwitch` listening at ``host:port`` with its trunks (limits
included), its session timer and RTP inactivity limit, and a registrar on the same
socket for the agents' phones, whose digest
passwords come from the settings (stored as H(A1) per algorithm, never as given).
The nonce secret signs the registrar's stateless nonces; when the settings leave it
empty a random one is drawn, so nonces do not survive a restart (phones simply get a
new challenge).

With ``media`` (the engine pool, started from the ``media`` section) the switch's
calls go through the media engine, with the music on hold, prompts, tone plan and
recording format the ``media`` section names (:func:`media_options_from`).
"""

from __future__ import annotations

import secrets
from pathlib import Path

from callcenter.config import MediaSettings, SipSettings
from callcenter.media.port import MediaPort
from callcenter.sip.auth import DigestServer
from callcenter.switch.sip.b2bua import SipSwitch
from callcenter.switch.sip.media import MediaOptions
from callcenter.switch.sip.registrar import Credential, Ha1, Registrar
from callcenter.switch.sip.trunks import Trunk

__all__ = ["media_options_from", "registrar_from", "sip_switch_from", "trunks_from"]


def trunks_from(settings: SipSettings) -> list[Trunk]:
    return [
        Trunk(
            t.name,
            t.host,
            t.port,
            t.transport,
            username=t.username,
            password=t.password,
            caller_id=t.caller_id,
            max_channels=t.max_channels,
            max_cps=t.max_cps,
        )
        for t in settings.trunks
    ]


def registrar_from(settings: SipSettings) -> Registrar:
    secret = settings.nonce_secret.encode() or secrets.token_bytes(32)
    credentials: dict[str, Credential] = {
        extension: Ha1.of(extension, settings.realm, password)
        for extension, password in settings.phones.items()
    }
    digest = DigestServer(secret, settings.realm, algorithms=settings.digest_algorithms)
    return Registrar(credentials, digest)


def media_options_from(settings: MediaSettings, recordings_dir: Path) -> MediaOptions:
    return MediaOptions(
        recordings_dir,
        music_on_hold=settings.music_on_hold,
        prompts=dict(settings.prompts),
        tone_plan=settings.tone_plan,
        voice=settings.voice,
        recording_format=settings.recording_format,
    )


def sip_switch_from(
    settings: SipSettings,
    *,
    media: MediaPort | None = None,
    media_settings: MediaSettings | None = None,
    recordings_dir: Path = Path("recordings"),
) -> SipSwitch:
    """The switch, not started (``await switch.start()`` binds the socket)."""
    media_settings = media_settings or MediaSettings()
    rtp_timeout = settings.rtp_timeout_seconds
    if media is not None:
        rtp_timeout = rtp_timeout or media_settings.rtp_timeout_seconds
    return SipSwitch(
        trunks_from(settings),
        host=settings.host,
        port=settings.port,
        media_host=settings.media_host,
        registrar=registrar_from(settings),
        session_expires=settings.session_expires_seconds,
        rtp_timeout=rtp_timeout or None,
        media=media,
        media_options=media_options_from(media_settings, recordings_dir),
    )
