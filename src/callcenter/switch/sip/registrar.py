"""A sans-io registrar for agents' phones (RFC 3261 10.3, RFC 7616 digest).

Theory of operation
-------------------
``handle_register(request, source, now)`` takes a REGISTER that the endpoint surfaced
and returns the response to send. It follows RFC 3261 10.3:

1. the address-of-record is the To URI; its user part is the extension;
2. ``Require`` with anything we do not support -> 420 (step 2);
3. digest authentication (step 3, RFC 7616): no credentials, a nonce we did not sign
   or a realm not ours -> 401 with a fresh challenge per algorithm; an expired nonce
   with the right password, or a replayed ``nc`` -> 401 ``stale=true``; a wrong
   password or an unknown user -> 403. Nonces are stateless (see ``DigestServer``),
   so nothing the registrar keeps grows before a request is authenticated;
4. the authenticated user must be the extension (step 6), else 403;
5. Contact ``*`` needs ``Expires: 0`` and no other contact (step 6), else 400;
   each contact's expiry is its ``expires`` parameter, else the Expires header, else
   the default; a non-zero value under ``min_expires`` fails the whole request with
   423 and Min-Expires, a value over ``max_expires`` is shortened (step 7);
6. Call-ID/CSeq ordering (step 7): a binding registered under the same Call-ID is
   only changed by a higher CSeq, otherwise the whole request fails with 500 and
   nothing changes; a different Call-ID replaces the binding;
7. 200 lists every current binding with its remaining ``expires`` (step 8).

Bindings live in ``extension -> contact key -> Binding``; only known, authenticated
extensions get entries, at most ``max_contacts`` each, so memory is bounded by the
credentials table. Expired bindings are dropped by ``handle_timer`` (and never shown
by ``where``). Deadlines sit in one heap with lazy deletion, so ``get_timer`` stays
cheap with many phones refreshing.

Qualify: every ``qualify_interval`` seconds each binding is sent an OPTIONS
(``requests_to_send``) to the address its REGISTER came from, over the transport it
came on; any answer but 408 marks it reachable, no answer within ``qualify_timeout``
(or a transaction timeout reported with ``qualify_failed``) marks it unreachable.
Changes come out as events (``next_event``).

Interoperability (measured): SIPp 3.6.1 answers only the first challenge and only
MD5; baresip 1.0.0 fails if any challenge is SHA-256. Sites with such phones give the
``DigestServer`` ``algorithms=("MD5",)``.
"""

from __future__ import annotations

import heapq
import logging
import secrets
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Final

from callcenter.sip.auth import (
    AuthResult,
    DigestCredentials,
    DigestServer,
    compute_ha1,
    parse_auth_params,
)
from callcenter.sip.endpoint import Address
from callcenter.sip.errors import SipParseError
from callcenter.sip.headers import MAGIC_COOKIE, Headers, Via, expires_of, parse_token_list
from callcenter.sip.message import Request, Response, make_response
from callcenter.sip.uri import NameAddr, SipUri, Uri, remove_param

log = logging.getLogger(__name__)

DEFAULT_MIN_EXPIRES: Final = 60  # our policy; RFC 3261 10.3 step 7 allows any minimum
DEFAULT_MAX_EXPIRES: Final = 3600
DEFAULT_EXPIRES: Final = 3600  # RFC 3261 10.2.1.1 suggests one hour when none is given
DEFAULT_MAX_CONTACTS: Final = 10  # per extension, our limit
DEFAULT_QUALIFY_INTERVAL: Final = 30.0
DEFAULT_QUALIFY_TIMEOUT: Final = 5.0
SUPPORTED_EXTENSIONS: Final = frozenset[str]()  # option tags we honour in Require


@dataclass(frozen=True, slots=True)
class Ha1:
    """Stored digest secrets of one extension: H(user:realm:password) per algorithm."""

    md5: str | None = None
    sha256: str | None = None

    @classmethod
    def of(cls, username: str, realm: str, password: str) -> Ha1:
        return cls(
            md5=compute_ha1("MD5", username, realm, password),
            sha256=compute_ha1("SHA-256", username, realm, password),
        )

    def for_algorithm(self, algorithm: str) -> str | None:
        base = algorithm.upper().removesuffix("-SESS")
        return {"MD5": self.md5, "SHA-256": self.sha256}.get(base)


Credential = str | Ha1  # a plain string is the password


@dataclass(frozen=True, slots=True)
class Binding:
    """Where one phone of an extension can be reached (RFC 3261 10.3 step 7)."""

    extension: str
    contact: NameAddr
    expires_at: float
    call_id: str
    cseq: int
    source: Address  # where the REGISTER came from: reach the phone here (NAT)
    registered_at: float
    reachable: bool = True
    last_qualified: float | None = None
    transport: str = "UDP"  # the REGISTER's Via transport: qualify the same way

    def expires_in(self, now: float) -> int:
        return max(0, int(self.expires_at - now + 0.5))

    @property
    def q(self) -> float:
        value = self.contact.param("q")
        try:
            return float(value) if value else 1.0
        except ValueError:
            return 1.0


@dataclass(frozen=True, slots=True)
class BindingAdded:
    binding: Binding


@dataclass(frozen=True, slots=True)
class BindingRefreshed:
    binding: Binding


@dataclass(frozen=True, slots=True)
class BindingRemoved:
    """A binding ended: ``reason`` is ``unregistered``, ``expired`` or ``removed``."""

    binding: Binding
    reason: str


@dataclass(frozen=True, slots=True)
class BindingReachabilityChanged:
    binding: Binding


RegistrarEvent = BindingAdded | BindingRefreshed | BindingRemoved | BindingReachabilityChanged


class RegisterRejected(Exception):
    """The REGISTER fails as a whole with ``response`` (nothing was changed)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def contact_key(uri: Uri) -> str:
    """The identity of a contact for matching bindings (RFC 3261 19.1.4, simplified)."""
    if isinstance(uri, SipUri):
        return str(replace(uri, host=uri.host.lower(), headers=()))
    return str(uri)


BindingKey = tuple[str, str]  # (extension, contact key)


@dataclass
class _Probe:
    """An OPTIONS out to a binding, waiting for any answer until ``deadline``."""

    binding: BindingKey
    deadline: float


class Registrar:
    """Bindings of extensions to their phones' contacts, with digest authentication."""

    def __init__(
        self,
        credentials: Mapping[str, Credential],
        digest: DigestServer,
        *,
        min_expires: int = DEFAULT_MIN_EXPIRES,
        max_expires: int = DEFAULT_MAX_EXPIRES,
        default_expires: int = DEFAULT_EXPIRES,
        max_contacts: int = DEFAULT_MAX_CONTACTS,
        qualify_interval: float | None = DEFAULT_QUALIFY_INTERVAL,
        qualify_timeout: float = DEFAULT_QUALIFY_TIMEOUT,
        local_address: Address = ("127.0.0.1", 5060),
        token: Callable[[], str] = lambda: secrets.token_hex(8),
    ) -> None:
        if not 0 < min_expires <= default_expires <= max_expires:
            raise ValueError("need 0 < min_expires <= default_expires <= max_expires")
        self.credentials = dict(credentials)
        self.digest = digest
        self.min_expires = min_expires
        self.max_expires = max_expires
        self.default_expires = default_expires
        self.max_contacts = max_contacts
        self.qualify_interval = qualify_interval
        self.qualify_timeout = qualify_timeout
        self.local_address = local_address
        self._token = token
        self._bindings: dict[str, dict[str, Binding]] = {}
        self._count = 0  # bindings held, expired or not
        self._qualify_due: dict[BindingKey, float] = {}
        self._probes: dict[str, _Probe] = {}  # Via branch of an outstanding OPTIONS
        self._probe_of: dict[BindingKey, str] = {}
        # (deadline, sequence, kind, a, b): "expiry"/"qualify" with (extension, key),
        # "probe" with ("", branch). Stale entries are skipped lazily, as in Endpoint.
        self._heap: list[tuple[float, int, str, str, str]] = []
        self._seq = 0
        self._outbox: deque[tuple[Request, Address]] = deque()
        self._events: deque[RegistrarEvent] = deque()

    # --- queries ---
    def where(self, extension: str, now: float) -> list[Binding]:
        """The live bindings of ``extension``: highest q first, then newest."""
        live = [b for b in self._bindings.get(extension, {}).values() if b.expires_at > now]
        return sorted(live, key=lambda b: (-b.q, -b.registered_at))

    @property
    def binding_count(self) -> int:
        return self._count

    def next_event(self) -> RegistrarEvent | None:
        return self._events.popleft() if self._events else None

    def requests_to_send(self) -> list[tuple[Request, Address]]:
        out = list(self._outbox)
        self._outbox.clear()
        return out

    def unbind(self, extension: str) -> list[Binding]:
        """Drop every binding of ``extension`` (e.g. the agent was removed); reason ``removed``.

        Change ``credentials`` as well, or the phone registers again at its next refresh.
        """
        dropped = list(self._bindings.get(extension, {}).items())
        for key, binding in dropped:
            self._drop(extension, key, binding, "removed")
        return [binding for _, binding in dropped]

    # --- REGISTER ---
    def handle_register(self, request: Request, source: Address, now: float) -> Response:
        """The response to a REGISTER (RFC 3261 10.3); bindings change only on 200."""
        if request.method != "REGISTER":
            raise ValueError("handle_register needs a REGISTER")
        try:
            return self._register(request, source, now)
        except RegisterRejected as rejected:
            return rejected.response
        except SipParseError as exc:
            return make_response(request, 400, to_tag=self._token(), headers=_warning(str(exc)))

    def _register(self, request: Request, source: Address, now: float) -> Response:
        aor = request.to_addr.uri
        if not isinstance(aor, SipUri) or not aor.user:
            return self._reply(request, 404)  # step 5: not an address-of-record of ours
        extension = aor.user
        required = parse_token_list(request.headers.get_all("Require"))
        unsupported = [t for t in required if t not in SUPPORTED_EXTENSIONS]
        if unsupported:  # step 2
            return self._reply(request, 420, headers=[("Unsupported", ", ".join(unsupported))])
        denied = self._authenticate(request, extension, now)  # steps 3 and 4
        if denied is not None:
            return denied
        contacts = request.contacts
        header_expires = self._header_expires(request)
        call_id, cseq = request.call_id, request.cseq.seq
        current = {k: b for k, b in self._bindings.get(extension, {}).items() if b.expires_at > now}
        if contacts.star:  # step 6
            if header_expires != 0:
                return self._reply(request, 400, headers=_warning("'*' needs Expires: 0"))
            changes: dict[str, Binding | None] = {}
            for key, binding in current.items():
                self._check_order(request, binding, call_id, cseq)
                changes[key] = None
        else:
            changes = self._contact_changes(
                request, extension, contacts.contacts, header_expires, current, source, now
            )
        self._commit(extension, current, changes, now)
        return self._ok(request, extension, now)

    def _authenticate(self, request: Request, extension: str, now: float) -> Response | None:
        """None when the request carries valid credentials for ``extension``."""
        values = request.headers.get_all("Authorization")
        creds = _pick_credentials(values, self.digest.realm)
        if creds is None or self.digest.nonce_issued_at(creds.nonce) is None:
            return self._challenge(request, now)
        secret = self.credentials.get(creds.username)
        result = AuthResult.INVALID
        if secret is not None:
            if isinstance(secret, Ha1):
                ha1 = secret.for_algorithm(creds.algorithm)
                if ha1 is not None:
                    result = self.digest.verify(
                        creds, method="REGISTER", now=now, ha1=ha1, request_uri=str(request.uri)
                    )
            else:
                result = self.digest.verify(
                    creds, method="REGISTER", now=now, password=secret, request_uri=str(request.uri)
                )
        if result is AuthResult.OK:
            if creds.username != extension:
                log.info("user %s may not register extension %s", creds.username, extension)
                return self._reply(request, 403, headers=_warning("not your extension"))
            return None
        if result in (AuthResult.STALE, AuthResult.REPLAY):
            return self._challenge(request, now, stale=True)
        log.info("REGISTER for %s from user %s refused: bad credentials", extension, creds.username)
        return self._reply(request, 403)

    def _challenge(self, request: Request, now: float, *, stale: bool = False) -> Response:
        return self._reply(request, 401, headers=self.digest.challenge_headers(now, stale=stale))

    def _header_expires(self, request: Request) -> int | None:
        value = request.headers.get("Expires")
        if value is None:
            return None
        value = value.strip()
        if not value.isdigit() or not value.isascii():
            raise SipParseError(f"bad Expires {value[:20]!r}")
        return min(int(value), 2**31 - 1)

    def _contact_changes(
        self,
        request: Request,
        extension: str,
        contacts: Iterable[NameAddr],
        header_expires: int | None,
        current: Mapping[str, Binding],
        source: Address,
        now: float,
    ) -> dict[str, Binding | None]:
        changes: dict[str, Binding | None] = {}
        call_id, cseq = request.call_id, request.cseq.seq
        default = header_expires if header_expires is not None else self.default_expires
        for contact in contacts:
            expires = expires_of(contact, default)
            assert expires is not None
            if 0 < expires < self.min_expires:
                raise RegisterRejected(
                    self._reply(request, 423, headers=[("Min-Expires", str(self.min_expires))])
                )
            key = contact_key(contact.uri)
            existing = current.get(key)
            if existing is not None:
                self._check_order(request, existing, call_id, cseq)
            if expires == 0:
                changes[key] = None
                continue
            expires = min(expires, self.max_expires)
            clean = replace(contact, params=remove_param(contact.params, "expires"))
            changes[key] = Binding(
                extension=extension,
                contact=clean,
                expires_at=now + expires,
                call_id=call_id,
                cseq=cseq,
                source=source,
                transport=request.top_via.transport,
                registered_at=now if existing is None else existing.registered_at,
                reachable=True if existing is None else existing.reachable,
                last_qualified=None if existing is None else existing.last_qualified,
            )
        kept = {k for k in current if changes.get(k, current[k]) is not None}
        added = {k for k, b in changes.items() if b is not None}
        if len(kept | added) > self.max_contacts:
            raise RegisterRejected(self._reply(request, 403, headers=_warning("too many contacts")))
        return changes

    def _check_order(self, request: Request, binding: Binding, call_id: str, cseq: int) -> None:
        """RFC 3261 10.3 step 7: same Call-ID needs a higher CSeq, or the request fails."""
        if binding.call_id == call_id and cseq <= binding.cseq:
            raise RegisterRejected(
                self._reply(request, 500, "Out Of Order CSeq", headers=[("Retry-After", "1")])
            )

    def _commit(
        self,
        extension: str,
        current: Mapping[str, Binding],
        changes: Mapping[str, Binding | None],
        now: float,
    ) -> None:
        for key, binding in list(self._bindings.get(extension, {}).items()):
            if key not in current:  # expired, not yet swept by handle_timer
                self._drop(extension, key, binding, "expired")
        table = self._bindings.setdefault(extension, {})
        for key, new in changes.items():
            old = table.get(key)
            if new is None:
                if old is not None:
                    self._drop(extension, key, old, "unregistered")
                continue
            table[key] = new
            self._schedule(new.expires_at, "expiry", extension, key)
            if old is None:
                self._count += 1
                log.info("extension %s registered %s", extension, new.contact.uri)
                self._events.append(BindingAdded(new))
                if self.qualify_interval is not None:
                    self._qualify_due[(extension, key)] = due = now + self.qualify_interval
                    self._schedule(due, "qualify", extension, key)
            else:
                self._events.append(BindingRefreshed(new))
        if not table:
            self._bindings.pop(extension, None)

    def _drop(self, extension: str, key: str, binding: Binding, reason: str) -> None:
        table = self._bindings.get(extension, {})
        if table.pop(key, None) is not None:
            self._count -= 1
        if not table:
            self._bindings.pop(extension, None)
        self._qualify_due.pop((extension, key), None)
        branch = self._probe_of.pop((extension, key), None)
        if branch is not None:
            self._probes.pop(branch, None)
        log.info("extension %s binding %s %s", extension, binding.contact.uri, reason)
        self._events.append(BindingRemoved(binding, reason))

    def _ok(self, request: Request, extension: str, now: float) -> Response:
        fields = [
            ("Contact", str(b.contact.with_param("expires", str(b.expires_in(now)))))
            for b in self.where(extension, now)
        ]
        return self._reply(request, 200, headers=fields)

    def _reply(
        self,
        request: Request,
        status: int,
        reason: str | None = None,
        *,
        headers: Iterable[tuple[str, str]] = (),
    ) -> Response:
        return make_response(request, status, reason, to_tag=self._token(), headers=headers)

    # --- timers: expiry and qualify ---
    def _schedule(self, deadline: float, kind: str, a: str, b: str) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (deadline, self._seq, kind, a, b))
        if len(self._heap) > 4 * (2 * self._count + len(self._probes)) + 64:
            self._heap = [entry for entry in self._heap if self._is_live(entry)]
            heapq.heapify(self._heap)

    def _is_live(self, entry: tuple[float, int, str, str, str]) -> bool:
        deadline, _, kind, a, b = entry
        if kind == "expiry":
            binding = self._bindings.get(a, {}).get(b)
            return binding is not None and binding.expires_at == deadline
        if kind == "qualify":
            return self._qualify_due.get((a, b)) == deadline
        probe = self._probes.get(b)
        return probe is not None and probe.deadline == deadline

    def get_timer(self) -> float | None:
        """The next deadline: a binding expiring, a qualify due or a probe timing out."""
        while self._heap:
            if self._is_live(self._heap[0]):
                return self._heap[0][0]
            heapq.heappop(self._heap)
        return None

    def handle_timer(self, now: float) -> None:
        while (deadline := self.get_timer()) is not None and deadline <= now:
            _, _, kind, a, b = heapq.heappop(self._heap)
            if kind == "expiry":
                self._drop(a, b, self._bindings[a][b], "expired")
            elif kind == "qualify":
                self._send_options(a, b, now)
            else:
                probe = self._probes.pop(b)
                self._probe_of.pop(probe.binding, None)
                self._set_reachable(probe.binding, False, now)

    def _send_options(self, extension: str, key: str, now: float) -> None:
        binding = self._bindings[extension][key]
        assert self.qualify_interval is not None
        self._qualify_due[(extension, key)] = due = now + self.qualify_interval
        self._schedule(due, "qualify", extension, key)
        if (extension, key) in self._probe_of:
            return  # the previous probe is still out
        branch = MAGIC_COOKIE + self._token()
        host, port = self.local_address
        uri = binding.contact.uri
        headers = Headers.of(
            ("Via", str(Via(binding.transport, host, port, (("branch", branch), ("rport", None))))),
            ("Max-Forwards", "70"),
            ("From", f"<sip:registrar@{host}:{port}>;tag={self._token()}"),
            ("To", f"<{uri}>"),
            ("Call-ID", self._token()),
            ("CSeq", "1 OPTIONS"),
        )
        request = Request(method="OPTIONS", uri=uri, headers=headers)
        probe = _Probe((extension, key), now + self.qualify_timeout)
        self._probes[branch] = probe
        self._probe_of[(extension, key)] = branch
        self._schedule(probe.deadline, "probe", "", branch)
        self._outbox.append((request, binding.source))

    def receive_response(self, response: Response, now: float) -> bool:
        """A response to one of our OPTIONS; False when it is not ours.

        Any final answer but 408 comes from the phone itself: reachable.
        """
        try:
            branch = response.top_via.branch or ""
        except SipParseError:
            return False
        probe = self._probes.get(branch)
        if probe is None:
            return False
        if response.is_final:
            del self._probes[branch]
            self._probe_of.pop(probe.binding, None)
            self._set_reachable(probe.binding, response.status != 408, now)
        return True

    def qualify_failed(self, branch: str, now: float) -> bool:
        """The transaction of our OPTIONS timed out (RFC 3261 Timer F)."""
        probe = self._probes.pop(branch, None)
        if probe is None:
            return False
        self._probe_of.pop(probe.binding, None)
        self._set_reachable(probe.binding, False, now)
        return True

    def _set_reachable(self, which: BindingKey, reachable: bool, now: float) -> None:
        extension, key = which
        binding = self._bindings.get(extension, {}).get(key)
        if binding is None:
            return
        updated = replace(binding, reachable=reachable, last_qualified=now)
        self._bindings[extension][key] = updated
        if reachable != binding.reachable:
            log.info(
                "extension %s contact %s is %s",
                extension,
                binding.contact.uri,
                "reachable" if reachable else "unreachable",
            )
            self._events.append(BindingReachabilityChanged(updated))


def _pick_credentials(values: Iterable[str], realm: str) -> DigestCredentials | None:
    """The Digest credentials for our realm among Authorization values (RFC 3261 22.4)."""
    for value in values:
        try:
            scheme, params = parse_auth_params(value)
            if scheme.lower() != "digest" or params.get("realm") != realm:
                continue
            return DigestCredentials.parse(value)
        except SipParseError:
            continue
    return None


def _warning(text: str) -> list[tuple[str, str]]:
    """A Warning header field (RFC 3261 20.43, code 399) with printable ASCII only."""
    safe = "".join(c for c in text if c.isascii() and c.isprintable() and c not in '"\\')
    return [("Warning", f'399 callcenter "{safe[:120]}"')]


__all__ = [
    "Binding",
    "BindingAdded",
    "BindingReachabilityChanged",
    "BindingRefreshed",
    "BindingRemoved",
    "Credential",
    "Ha1",
    "RegisterRejected",
    "Registrar",
    "RegistrarEvent",
    "contact_key",
]
