"""Digest authentication for SIP, both ways (RFC 3261 22, RFC 2617, RFC 7616, RFC 8760).

Client side: read the 401/407 challenge, pick the first algorithm we support in the
server's order (RFC 7616 3.7), compute the response with qop=auth, a caller-supplied
cnonce and a per-nonce counter, and re-issue the request with CSeq + 1 (RFC 3261 22.2).

Server side: nonces are stateless: ``base64url(issued_ms || salt || HMAC(secret, ...))``
so any node holding the secret can check them and they expire by themselves. The only
state is a bounded LRU of the highest ``nc`` used per nonce, for replay protection;
when an entry is evicted, every nonce issued up to that entry's time is answered
``stale`` so a replay cannot slip through the forgotten window.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import struct
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Final

from callcenter.sip.errors import AuthError, SipParseError
from callcenter.sip.headers import CSeq, Via
from callcenter.sip.message import Request, Response
from callcenter.sip.uri import quote, split_outside_quotes, unquote

# RFC 7616 3.2 / RFC 8760 2.1: the algorithms and the hash behind each.
HASHES: Final[dict[str, Callable[[bytes], hashlib._Hash]]] = {
    "MD5": hashlib.md5,
    "SHA-256": hashlib.sha256,
}
SUPPORTED_ALGORITHMS: Final = ("SHA-256", "SHA-256-sess", "MD5", "MD5-sess")
DEFAULT_NONCE_TTL: Final = 300.0  # seconds a nonce stays fresh (our policy)
MAX_CLOCK_SKEW: Final = 5.0  # a nonce "from the future" beyond this is forged
_SALT_LEN: Final = 8
_MAC_LEN: Final = 16


def _canonical_algorithm(name: str) -> str:
    for algo in SUPPORTED_ALGORITHMS:
        if algo.lower() == name.lower():
            return algo
    raise AuthError(f"unsupported digest algorithm {name!r}")


def _h(algorithm: str, text: str) -> str:
    base = algorithm.removesuffix("-sess")
    return HASHES[base](text.encode("utf-8")).hexdigest()


def parse_auth_params(text: str) -> tuple[str, dict[str, str]]:
    """Split ``Digest k=v, k="v"`` (RFC 3261 25.1 challenge/credentials) into parts.

    Keys are lower-cased, values unquoted.
    """
    parts = text.strip().split(None, 1)
    if len(parts) != 2:
        raise SipParseError("bad authentication header")
    scheme, rest = parts
    params: dict[str, str] = {}
    for item in split_outside_quotes(rest, ","):
        item = item.strip()
        if not item:
            continue
        key, eq, value = item.partition("=")
        key = key.strip().lower()
        if not eq or not key:
            raise SipParseError(f"bad auth parameter {item[:40]!r}")
        if key in params:
            raise SipParseError(f"duplicate auth parameter {key!r}")
        params[key] = unquote(value.strip())
    return scheme, params


def _fmt(key: str, value: str, quoted: bool) -> str:
    return f"{key}={quote(value)}" if quoted else f"{key}={value}"


@dataclass(frozen=True, slots=True)
class DigestChallenge:
    """One WWW-Authenticate / Proxy-Authenticate value (RFC 7616 3.3)."""

    realm: str
    nonce: str
    algorithm: str = "MD5"
    qop: tuple[str, ...] = ()
    opaque: str | None = None
    stale: bool = False

    @classmethod
    def parse(cls, text: str) -> DigestChallenge:
        scheme, p = parse_auth_params(text)
        if scheme.lower() != "digest":
            raise SipParseError(f"not a Digest challenge: {scheme!r}")
        if "realm" not in p or "nonce" not in p:
            raise SipParseError("Digest challenge without realm or nonce")
        qop = tuple(q.strip() for q in p.get("qop", "").split(",") if q.strip())
        return cls(
            realm=p["realm"],
            nonce=p["nonce"],
            algorithm=p.get("algorithm", "MD5"),
            qop=qop,
            opaque=p.get("opaque"),
            stale=p.get("stale", "").lower() == "true",
        )

    def __str__(self) -> str:
        parts = [
            _fmt("realm", self.realm, True),
            _fmt("nonce", self.nonce, True),
            _fmt("algorithm", self.algorithm, False),
        ]
        if self.qop:
            parts.append(_fmt("qop", ",".join(self.qop), True))
        if self.opaque is not None:
            parts.append(_fmt("opaque", self.opaque, True))
        if self.stale:
            parts.append("stale=true")
        return "Digest " + ", ".join(parts)


@dataclass(frozen=True, slots=True)
class DigestCredentials:
    """One Authorization / Proxy-Authorization value (RFC 7616 3.4)."""

    username: str
    realm: str
    nonce: str
    uri: str
    response: str
    algorithm: str = "MD5"
    qop: str | None = None
    nc: int | None = None
    cnonce: str | None = None
    opaque: str | None = None

    @classmethod
    def parse(cls, text: str) -> DigestCredentials:
        scheme, p = parse_auth_params(text)
        if scheme.lower() != "digest":
            raise SipParseError(f"not Digest credentials: {scheme!r}")
        missing = {"username", "realm", "nonce", "uri", "response"} - p.keys()
        if missing:
            raise SipParseError(f"Digest credentials without {sorted(missing)}")
        nc: int | None = None
        if "nc" in p:
            try:
                nc = int(p["nc"], 16)
            except ValueError:
                raise SipParseError("bad nc") from None
            if len(p["nc"]) != 8 or nc < 0:
                raise SipParseError("nc must be 8 hex digits")
        return cls(
            username=p["username"],
            realm=p["realm"],
            nonce=p["nonce"],
            uri=p["uri"],
            response=p["response"],
            algorithm=p.get("algorithm", "MD5"),
            qop=p.get("qop"),
            nc=nc,
            cnonce=p.get("cnonce"),
            opaque=p.get("opaque"),
        )

    def __str__(self) -> str:
        parts = [
            _fmt("username", self.username, True),
            _fmt("realm", self.realm, True),
            _fmt("nonce", self.nonce, True),
            _fmt("uri", self.uri, True),
            _fmt("response", self.response, True),
            _fmt("algorithm", self.algorithm, False),
        ]
        if self.qop is not None:
            parts.append(_fmt("qop", self.qop, False))
        if self.nc is not None:
            parts.append(f"nc={self.nc:08x}")
        if self.cnonce is not None:
            parts.append(_fmt("cnonce", self.cnonce, True))
        if self.opaque is not None:
            parts.append(_fmt("opaque", self.opaque, True))
        return "Digest " + ", ".join(parts)


def compute_ha1(algorithm: str, username: str, realm: str, password: str) -> str:
    """H(username:realm:password) (RFC 7616 3.4.2), what a registrar should store."""
    return _h(algorithm, f"{username}:{realm}:{password}")


def digest_response(
    *,
    algorithm: str,
    ha1: str,
    nonce: str,
    method: str,
    uri: str,
    qop: str | None,
    nc: int | None,
    cnonce: str | None,
) -> str:
    """The ``response`` value (RFC 7616 3.4.1; RFC 2617 3.2.2.1 when qop is absent)."""
    algorithm = _canonical_algorithm(algorithm)
    if algorithm.endswith("-sess"):
        if cnonce is None:
            raise AuthError("-sess algorithms need a cnonce")
        ha1 = _h(algorithm, f"{ha1}:{nonce}:{cnonce}")
    ha2 = _h(algorithm, f"{method}:{uri}")
    if qop is None:
        return _h(algorithm, f"{ha1}:{nonce}:{ha2}")
    if qop != "auth":
        raise AuthError(f"unsupported qop {qop!r}")
    if nc is None or cnonce is None:
        raise AuthError("qop=auth needs nc and cnonce")
    return _h(algorithm, f"{ha1}:{nonce}:{nc:08x}:{cnonce}:{qop}:{ha2}")


def answer_challenge(
    challenge: DigestChallenge,
    *,
    method: str,
    uri: str,
    username: str,
    password: str,
    cnonce: str,
    nc: int = 1,
) -> DigestCredentials:
    """Credentials answering ``challenge`` for a request ``method uri``."""
    algorithm = _canonical_algorithm(challenge.algorithm)
    qop: str | None = None
    if challenge.qop:
        if "auth" not in challenge.qop:
            raise AuthError(f"no supported qop in {challenge.qop}")
        qop = "auth"
    ha1 = compute_ha1(algorithm, username, challenge.realm, password)
    use_cnonce = qop is not None or algorithm.endswith("-sess")
    response = digest_response(
        algorithm=algorithm,
        ha1=ha1,
        nonce=challenge.nonce,
        method=method,
        uri=uri,
        qop=qop,
        nc=nc if qop else None,
        cnonce=cnonce if use_cnonce else None,
    )
    return DigestCredentials(
        username=username,
        realm=challenge.realm,
        nonce=challenge.nonce,
        uri=uri,
        response=response,
        algorithm=challenge.algorithm,
        qop=qop,
        nc=nc if qop else None,
        cnonce=cnonce if use_cnonce else None,
        opaque=challenge.opaque,
    )


def pick_challenge(response: Response) -> tuple[str, DigestChallenge]:
    """The Authorization header name to answer with and the challenge to answer.

    401 carries WWW-Authenticate, 407 Proxy-Authenticate (RFC 3261 22.2, 22.3). The
    first challenge whose algorithm we support wins (RFC 8760 2.4).
    """
    if response.status == 401:
        source, target = "WWW-Authenticate", "Authorization"
    elif response.status == 407:
        source, target = "Proxy-Authenticate", "Proxy-Authorization"
    else:
        raise AuthError(f"status {response.status} is not a challenge")
    for value in response.headers.get_all(source):
        try:
            challenge = DigestChallenge.parse(value)
            _canonical_algorithm(challenge.algorithm)
        except (SipParseError, AuthError):
            continue
        return target, challenge
    raise AuthError("no usable Digest challenge")


@dataclass
class DigestClient:
    """A UAC's credentials and nonce counters (RFC 7616 3.4: nc counts per nonce)."""

    username: str
    password: str
    _nc: dict[str, int] = field(default_factory=dict, repr=False)

    def authorize(
        self, request: Request, challenge: Response, *, cnonce: str, branch: str
    ) -> Request:
        """``request`` re-issued with credentials for ``challenge``.

        CSeq goes up by one and the top Via gets the new ``branch``: it is a new
        transaction (RFC 3261 22.2, 8.1.3.5).
        """
        header, chosen = pick_challenge(challenge)
        nc = self._nc.get(chosen.nonce, 0) + 1
        self._nc = {chosen.nonce: nc}  # only the current nonce matters: bounded
        creds = answer_challenge(
            chosen,
            method=request.method,
            uri=str(request.uri),
            username=self.username,
            password=self.password,
            cnonce=cnonce,
            nc=nc,
        )
        cseq = request.cseq
        headers = request.headers.remove(header).add(header, str(creds))
        headers = headers.set("CSeq", str(CSeq(cseq.seq + 1, cseq.method)))
        vias = request.headers.get_all("Via")
        if vias:
            top = Via.parse(vias[0]).with_param("branch", branch)
            headers = headers.remove("Via")
            for value in reversed([str(top), *vias[1:]]):
                headers = headers.prepend("Via", value)
        return replace(request, headers=headers)


class AuthResult(Enum):
    """Outcome of checking credentials on the server side."""

    OK = "ok"
    STALE = "stale"  # right password, expired nonce: challenge again with stale=true
    INVALID = "invalid"  # wrong password, forged nonce, wrong realm: 401/403
    REPLAY = "replay"  # nc not above the last one seen for this nonce


class DigestServer:
    """Issues challenges and verifies credentials with stateless, expiring nonces."""

    def __init__(
        self,
        secret: bytes,
        realm: str,
        *,
        nonce_ttl: float = DEFAULT_NONCE_TTL,
        algorithms: tuple[str, ...] = ("SHA-256", "MD5"),
        max_tracked_nonces: int = 10_000,
        allow_no_qop: bool = False,
        random_bytes: Callable[[int], bytes] = secrets.token_bytes,
    ) -> None:
        if len(secret) < 16:
            raise AuthError("the nonce secret must be at least 16 bytes")
        self.realm = realm
        self.nonce_ttl = nonce_ttl
        self.algorithms = tuple(_canonical_algorithm(a) for a in algorithms)
        self.allow_no_qop = allow_no_qop
        self._secret = secret
        self._random = random_bytes
        self._max_tracked = max_tracked_nonces
        self._last_nc: OrderedDict[str, tuple[float, int]] = OrderedDict()
        self._forgotten_until = float("-inf")

    # --- nonces ---
    def make_nonce(self, now: float) -> str:
        issued = struct.pack(">Q", int(now * 1000))
        salt = self._random(_SALT_LEN)
        mac = self._mac(issued + salt)
        return base64.urlsafe_b64encode(issued + salt + mac).decode().rstrip("=")

    def _mac(self, data: bytes) -> bytes:
        return hmac.new(self._secret, data + self.realm.encode(), hashlib.sha256).digest()[
            :_MAC_LEN
        ]

    def nonce_issued_at(self, nonce: str) -> float | None:
        """When ``nonce`` was issued, or None if we did not sign it."""
        try:
            raw = base64.urlsafe_b64decode(nonce + "=" * (-len(nonce) % 4))
        except (binascii.Error, ValueError):
            return None
        if len(raw) != 8 + _SALT_LEN + _MAC_LEN:
            return None
        body, mac = raw[: 8 + _SALT_LEN], raw[8 + _SALT_LEN :]
        if not hmac.compare_digest(mac, self._mac(body)):
            return None
        (issued_ms,) = struct.unpack(">Q", body[:8])
        return float(issued_ms) / 1000.0

    def challenges(self, now: float, *, stale: bool = False) -> list[DigestChallenge]:
        """One challenge per configured algorithm, most preferred first (RFC 8760 2.4)."""
        nonce = self.make_nonce(now)
        return [
            DigestChallenge(realm=self.realm, nonce=nonce, algorithm=a, qop=("auth",), stale=stale)
            for a in self.algorithms
        ]

    def challenge_headers(
        self, now: float, *, proxy: bool = False, stale: bool = False
    ) -> list[tuple[str, str]]:
        """Header fields for a 401 (or a 407 when ``proxy``)."""
        name = "Proxy-Authenticate" if proxy else "WWW-Authenticate"
        return [(name, str(c)) for c in self.challenges(now, stale=stale)]

    # --- verification ---
    def verify(
        self,
        creds: DigestCredentials,
        *,
        method: str,
        now: float,
        ha1: str | None = None,
        password: str | None = None,
        request_uri: str | None = None,
    ) -> AuthResult:
        """Check ``creds`` for a request ``method``; give ``ha1`` or ``password``.

        ``ha1`` must be for the credentials' algorithm (see :func:`compute_ha1`).
        """
        try:
            algorithm = _canonical_algorithm(creds.algorithm)
        except AuthError:
            return AuthResult.INVALID
        if algorithm not in self.algorithms or creds.realm != self.realm:
            return AuthResult.INVALID
        if request_uri is not None and creds.uri != request_uri:
            return AuthResult.INVALID
        issued = self.nonce_issued_at(creds.nonce)
        if issued is None or issued > now + MAX_CLOCK_SKEW:
            return AuthResult.INVALID
        if creds.qop is None and not self.allow_no_qop:
            return AuthResult.INVALID
        if ha1 is None:
            if password is None:
                raise AuthError("verify needs ha1 or password")
            ha1 = compute_ha1(algorithm, creds.username, self.realm, password)
        try:
            expected = digest_response(
                algorithm=algorithm,
                ha1=ha1,
                nonce=creds.nonce,
                method=method,
                uri=creds.uri,
                qop=creds.qop,
                nc=creds.nc,
                cnonce=creds.cnonce,
            )
        except AuthError:
            return AuthResult.INVALID
        if not hmac.compare_digest(expected.encode(), creds.response.lower().encode()):
            return AuthResult.INVALID
        if issued + self.nonce_ttl < now:
            return AuthResult.STALE
        return self._check_replay(creds, issued, now)

    def _check_replay(self, creds: DigestCredentials, issued: float, now: float) -> AuthResult:
        nc = creds.nc if creds.nc is not None else 0
        seen = self._last_nc.get(creds.nonce)
        if seen is None:
            if issued <= self._forgotten_until:
                return AuthResult.STALE
        elif creds.qop is not None and nc <= seen[1]:
            return AuthResult.REPLAY
        self._last_nc[creds.nonce] = (issued, nc)
        self._last_nc.move_to_end(creds.nonce)
        self._evict(now)
        return AuthResult.OK

    def _evict(self, now: float) -> None:
        """Drop least recently used entries; only live ones move the stale floor."""
        while len(self._last_nc) > self._max_tracked:
            _, (issued, _) = self._last_nc.popitem(last=False)
            if issued + self.nonce_ttl >= now:
                self._forgotten_until = max(self._forgotten_until, issued)

    @property
    def tracked_nonces(self) -> int:
        return len(self._last_nc)
