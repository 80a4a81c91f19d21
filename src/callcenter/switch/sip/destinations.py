"""Where a leg's ``dest`` goes: a carrier trunk, a ``sip:`` URI, or an agent's phone.

Theory of operation
-------------------
:meth:`Destinations.route` turns the ``dest`` of ``originate`` (and of a transfer)
into a :class:`Route`: the Request-URI, the trunk if any, and where the INVITE is
sent. The forms, in order:

* ``agent:1001``, or a bare ``1001`` that is a known extension (the registrar holds
  credentials for it) when no trunk is named: the phone where 1001 is registered now,
  its best reachable binding (RFC 3261 10.3: the bound contact is the Request-URI,
  sent to the address the REGISTER came from, which is how it crosses NAT). No
  binding is not an error: ``route`` returns None (the leg ends as no answer, 480).
* ``sip:`` or ``sips:`` URI: dialled as it is, straight to its host, unless a trunk is
  named;
* anything else is a number: ``number@trunk`` through the named trunk, else the first
  one configured.

Bad input (no such trunk, a number that cannot be a URI user part, ``agent:`` with no
registrar) raises :class:`InvalidArgument`. Nothing here touches the network.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from callcenter.sip.endpoint import Address
from callcenter.sip.uri import SipUri
from callcenter.switch.ports import InvalidArgument
from callcenter.switch.sip.registrar import Binding
from callcenter.switch.sip.registrar_service import RegistrarService
from callcenter.switch.sip.trunks import Trunk, is_dialable, request_uri_for

__all__ = ["AGENT_PREFIX", "Destinations", "Route"]

AGENT_PREFIX: Final = "agent:"  # dest "agent:1001": extension 1001's registered phone


@dataclass(frozen=True, slots=True)
class Route:
    """Where one INVITE goes: ``target`` None means to the Request-URI's host."""

    dest: str  # as dialled, with a bare extension written agent:1001
    uri: SipUri
    trunk: Trunk | None = None
    target: Address | None = None


class Destinations:
    """The switch's trunks and phones, asked where a ``dest`` goes."""

    def __init__(self, trunks: Mapping[str, Trunk], phones: RegistrarService | None) -> None:
        self.trunks = trunks
        self.default = next(iter(trunks.values()), None)
        self.phones = phones

    def trunk(self, name: str | None, dest: str) -> Trunk | None:
        """The trunk a call to ``dest`` takes; InvalidArgument for an unknown name."""
        if name is None:
            if dest.lower().startswith(("sip:", "sips:")) or self.is_phone(dest, None):
                return None
            return self.default
        trunk = self.trunks.get(name)
        if trunk is None:
            raise InvalidArgument(f"no trunk {name!r}")
        return trunk

    def is_phone(self, dest: str, trunk: str | None) -> bool:
        """``agent:1001``, or a known extension when no trunk is named."""
        if dest.startswith(AGENT_PREFIX):
            return True
        known = self.phones is not None and dest in self.phones.registrar.credentials
        return trunk is None and known

    def route(self, dest: str, trunk: str | None = None) -> Route | None:
        """The route to ``dest``; None for an agent's phone with no reachable binding."""
        if self.is_phone(dest, trunk):
            extension = dest.removeprefix(AGENT_PREFIX)
            phone = self._phone_of(extension)
            if phone is None:
                return None
            uri = phone.contact.uri
            assert isinstance(uri, SipUri)
            return Route(AGENT_PREFIX + extension, uri, target=phone.source)
        chosen = self.trunk(trunk, dest)
        uri = request_uri_for(dest, chosen)
        via_trunk = chosen is not None and uri.host == chosen.host
        return Route(dest, uri, chosen, chosen.address if via_trunk and chosen else None)

    def _phone_of(self, extension: str) -> Binding | None:
        """Where ``extension``'s phone is now: its best reachable binding, if any."""
        if self.phones is None:
            raise InvalidArgument(f"cannot dial agent:{extension}: no registrar")
        if not extension or not is_dialable(extension):
            raise InvalidArgument(f"bad extension {extension!r}")
        bindings = self.phones.where(extension)
        reachable = [b for b in bindings if b.reachable and isinstance(b.contact.uri, SipUri)]
        return reachable[0] if reachable else None
