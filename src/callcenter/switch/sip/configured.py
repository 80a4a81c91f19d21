"""The SIP switch as the settings describe it (``telephony.sip``).

Builds one :class:`SipSwitch` listening at ``host:port`` with its trunks (limits
included), its session timer and RTP inactivity limit, and a registrar on the same
socket for the agents' phones, whose digest
passwords come from the settings (stored as H(A1) per algorithm, never as given).
The nonce secret signs the registrar's stateless nonces; when the settings leave it
empty a random one is drawn, so nonces do not survive a restart (phones simply get a
new challenge).
"""

from __future__ import annotations

import secrets

from callcenter.config import SipSettings
from callcenter.sip.auth import DigestServer
from callcenter.switch.sip.b2bua import SipSwitch
from callcenter.switch.sip.registrar import Credential, Ha1, Registrar
from callcenter.switch.sip.trunks import Trunk

__all__ = ["registrar_from", "sip_switch_from", "trunks_from"]


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


def sip_switch_from(settings: SipSettings) -> SipSwitch:
    """The switch, not started (``await switch.start()`` binds the socket)."""
    return SipSwitch(
        trunks_from(settings),
        host=settings.host,
        port=settings.port,
        media_host=settings.media_host,
        registrar=registrar_from(settings),
        session_expires=settings.session_expires_seconds,
        rtp_timeout=settings.rtp_timeout_seconds or None,
    )
