"""Tests for SIP digest authentication (RFC 2617, RFC 7616, RFC 8760, RFC 3261 22)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.sip.auth import (
    AuthResult,
    DigestChallenge,
    DigestClient,
    DigestCredentials,
    DigestServer,
    answer_challenge,
    compute_ha1,
    digest_response,
    parse_auth_params,
    pick_challenge,
)
from callcenter.sip.errors import AuthError, SipParseError
from callcenter.sip.message import Request, Response, make_response

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "sip"
SECRET = b"0123456789abcdef0123456789abcdef"
RFC7616_NONCE = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
RFC7616_CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"


def _counter_bytes() -> Callable[[int], bytes]:
    state = {"n": 0}

    def gen(n: int) -> bytes:
        state["n"] += 1
        return state["n"].to_bytes(n, "big")

    return gen


def server(
    *,
    nonce_ttl: float = 300.0,
    algorithms: tuple[str, ...] = ("SHA-256", "MD5"),
    max_tracked_nonces: int = 10_000,
    allow_no_qop: bool = False,
    random_bytes: Callable[[int], bytes] | None = None,
) -> DigestServer:
    extra = {} if random_bytes is None else {"random_bytes": random_bytes}
    return DigestServer(
        SECRET,
        "pbx.example.com",
        nonce_ttl=nonce_ttl,
        algorithms=algorithms,
        max_tracked_nonces=max_tracked_nonces,
        allow_no_qop=allow_no_qop,
        **extra,
    )


def register() -> Request:
    return Request.parse((FIXTURES / "register.sip").read_bytes())


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
    ],
)
def test_rfc7616_example_responses(algorithm: str, expected: str) -> None:
    """The worked example of RFC 7616 3.9.1 gives the published responses."""
    ha1 = compute_ha1(algorithm, "Mufasa", "http-auth@example.org", "Circle of Life")
    got = digest_response(
        algorithm=algorithm,
        ha1=ha1,
        nonce=RFC7616_NONCE,
        method="GET",
        uri="/dir/index.html",
        qop="auth",
        nc=1,
        cnonce=RFC7616_CNONCE,
    )
    assert got == expected


def test_rfc2617_example_response() -> None:
    """RFC 2617 3.5: the Mufasa example with qop=auth."""
    ha1 = compute_ha1("MD5", "Mufasa", "testrealm@host.com", "Circle Of Life")
    assert (
        digest_response(
            algorithm="MD5",
            ha1=ha1,
            nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
            method="GET",
            uri="/dir/index.html",
            qop="auth",
            nc=1,
            cnonce="0a4f113b",
        )
        == "6629fae49393a05397450978507c4ef1"
    )


def test_challenge_from_the_401_fixture() -> None:
    """The fixture's WWW-Authenticate parses with qop, opaque and stale=FALSE."""
    resp = Response.parse((FIXTURES / "register_401.sip").read_bytes())
    header, challenge = pick_challenge(resp)
    assert header == "Authorization"
    assert challenge.realm == "atlanta.example.com"
    assert challenge.nonce == "ea9c8e88df84f1cec4341ae6cbe5a359"
    assert challenge.qop == ("auth",)
    assert challenge.opaque == ""
    assert not challenge.stale
    assert DigestChallenge.parse(str(challenge)) == challenge


def test_legacy_challenge_without_qop_is_answered_rfc2069_style() -> None:
    """Without qop the response omits nc and cnonce (RFC 2617 3.2.2.1)."""
    challenge = DigestChallenge(realm="r", nonce="n")
    creds = answer_challenge(
        challenge, method="REGISTER", uri="sip:r", username="u", password="p", cnonce="c"
    )
    assert creds.qop is None
    assert creds.nc is None
    assert creds.cnonce is None
    assert "nc=" not in str(creds)


def test_credentials_round_trip_through_text() -> None:
    """Credentials serialise with nc as 8 hex digits and parse back."""
    creds = answer_challenge(
        DigestChallenge(realm="r", nonce="n", qop=("auth", "auth-int"), opaque="o"),
        method="INVITE",
        uri="sip:bob@b",
        username="alice",
        password="pw",
        cnonce="cn",
        nc=26,
    )
    text = str(creds)
    assert "nc=0000001a" in text
    assert DigestCredentials.parse(text) == creds


@pytest.mark.parametrize(
    "text",
    [
        "Basic dXNlcjpwYXNz",
        "Digest",
        'Digest username="a"',
        'Digest username="a", realm="r", nonce="n", uri="u", response="x", nc=zz',
        'Digest username="a", realm="r", nonce="n", uri="u", response="x", nc=1',
        'Digest username="a", username="b", realm="r", nonce="n", uri="u", response="x"',
        "Digest novalue",
    ],
)
def test_malformed_credentials(text: str) -> None:
    """Credentials that break RFC 7616 3.4 raise SipParseError."""
    with pytest.raises(SipParseError):
        DigestCredentials.parse(text)


def test_malformed_challenges() -> None:
    """A challenge needs Digest, realm and nonce."""
    for text in ('Basic realm="x"', 'Digest realm="x"', 'Digest nonce="n"'):
        with pytest.raises(SipParseError):
            DigestChallenge.parse(text)
    assert parse_auth_params('Digest a=1, b="x, y"') == ("Digest", {"a": "1", "b": "x, y"})


def test_unsupported_algorithm_and_qop_are_auth_errors() -> None:
    """We refuse to answer what we cannot compute rather than send garbage."""
    with pytest.raises(AuthError):
        answer_challenge(
            DigestChallenge(realm="r", nonce="n", algorithm="SHA-512-256"),
            method="X",
            uri="u",
            username="u",
            password="p",
            cnonce="c",
        )
    with pytest.raises(AuthError):
        answer_challenge(
            DigestChallenge(realm="r", nonce="n", qop=("auth-int",)),
            method="X",
            uri="u",
            username="u",
            password="p",
            cnonce="c",
        )
    with pytest.raises(AuthError):
        digest_response(
            algorithm="MD5-sess",
            ha1="h",
            nonce="n",
            method="X",
            uri="u",
            qop=None,
            nc=None,
            cnonce=None,
        )


def test_client_and_server_agree_on_register() -> None:
    """A phone REGISTERs, gets 401, re-REGISTERs with credentials and is accepted."""
    srv = server(random_bytes=_counter_bytes())
    req = register()
    challenge = make_response(req, 401, to_tag="t", headers=srv.challenge_headers(now=1000.0))
    client = DigestClient("bob", "zanzibar")
    retry = client.authorize(req, challenge, cnonce="abc", branch="z9hG4bKretry1")
    assert retry.cseq.seq == req.cseq.seq + 1
    assert retry.top_via.branch == "z9hG4bKretry1"
    assert retry.call_id == req.call_id
    creds = DigestCredentials.parse(retry.headers.get("Authorization") or "")
    assert creds.algorithm == "SHA-256"
    assert creds.nc == 1
    result = srv.verify(
        creds, method="REGISTER", now=1001.0, password="zanzibar", request_uri=str(req.uri)
    )
    assert result is AuthResult.OK


def test_client_answers_407_with_proxy_authorization_and_counts_nc() -> None:
    """Proxy challenges get Proxy-Authorization; reusing a nonce bumps nc (RFC 7616 3.4)."""
    srv = server(algorithms=("MD5",))
    req = register()
    challenge = make_response(req, 407, headers=srv.challenge_headers(now=0.0, proxy=True))
    client = DigestClient("bob", "pw")
    first = client.authorize(req, challenge, cnonce="c1", branch="z9hG4bK1")
    second = client.authorize(first, challenge, cnonce="c2", branch="z9hG4bK2")
    assert second.headers.get_all("Proxy-Authorization") == [
        second.headers.get("Proxy-Authorization")
    ]
    c1 = DigestCredentials.parse(first.headers.get("Proxy-Authorization") or "")
    c2 = DigestCredentials.parse(second.headers.get("Proxy-Authorization") or "")
    assert (c1.nc, c2.nc) == (1, 2)
    assert srv.verify(c1, method="REGISTER", now=1.0, password="pw") is AuthResult.OK
    assert srv.verify(c2, method="REGISTER", now=2.0, password="pw") is AuthResult.OK


def test_pick_challenge_skips_unsupported_algorithms() -> None:
    """RFC 8760: the client uses the first challenge it supports."""
    req = register()
    resp = make_response(
        req,
        401,
        headers=[
            ("WWW-Authenticate", 'Digest realm="r", nonce="n", algorithm=SHA-512-256'),
            ("WWW-Authenticate", 'Digest realm="r", nonce="n", algorithm=MD5, qop="auth"'),
        ],
    )
    assert pick_challenge(resp)[1].algorithm == "MD5"
    with pytest.raises(AuthError):
        pick_challenge(make_response(req, 403))
    with pytest.raises(AuthError):
        pick_challenge(make_response(req, 401))


def _creds(
    srv: DigestServer, now: float, *, nc: int = 1, password: str = "pw"
) -> DigestCredentials:
    challenge = srv.challenges(now)[0]
    return answer_challenge(
        challenge,
        method="INVITE",
        uri="sip:q@pbx",
        username="u",
        password=password,
        cnonce="c",
        nc=nc,
    )


def test_wrong_password_is_invalid() -> None:
    """A response computed with another password fails."""
    srv = server()
    creds = _creds(srv, 0.0, password="guess")
    assert srv.verify(creds, method="INVITE", now=1.0, password="pw") is AuthResult.INVALID


def test_precomputed_ha1_verifies() -> None:
    """A registrar storing only HA1 can verify."""
    srv = server(algorithms=("MD5",))
    creds = _creds(srv, 0.0)
    ha1 = compute_ha1("MD5", "u", "pbx.example.com", "pw")
    assert srv.verify(creds, method="INVITE", now=1.0, ha1=ha1) is AuthResult.OK
    with pytest.raises(AuthError):
        srv.verify(creds, method="INVITE", now=1.0)


def test_expired_nonce_with_right_password_is_stale() -> None:
    """After the TTL the nonce is stale, so the server re-challenges with stale=true."""
    srv = server(nonce_ttl=300.0)
    creds = _creds(srv, 0.0)
    assert srv.verify(creds, method="INVITE", now=301.0, password="pw") is AuthResult.STALE
    assert srv.challenges(301.0, stale=True)[0].stale
    wrong = _creds(srv, 0.0, password="no")
    assert srv.verify(wrong, method="INVITE", now=301.0, password="pw") is AuthResult.INVALID


def test_forged_or_foreign_nonces_are_invalid() -> None:
    """A nonce not signed by our secret, from the future, or another realm fails."""
    srv = server()
    other = DigestServer(b"another-secret-of-16+bytes", "pbx.example.com")
    assert srv.verify(_creds(other, 0.0), method="INVITE", now=1.0, password="pw") is (
        AuthResult.INVALID
    )
    future = _creds(srv, 1000.0)
    assert srv.verify(future, method="INVITE", now=0.0, password="pw") is AuthResult.INVALID
    assert srv.nonce_issued_at("!!!not base64") is None
    assert srv.nonce_issued_at("AAAA") is None
    foreign = DigestServer(SECRET, "other.realm")
    assert srv.verify(_creds(foreign, 0.0), method="INVITE", now=1.0, password="pw") is (
        AuthResult.INVALID
    )


def test_replayed_nc_is_detected() -> None:
    """The same nc twice on a nonce is a replay; a higher nc is fine."""
    srv = server()
    creds = _creds(srv, 0.0, nc=1)
    assert srv.verify(creds, method="INVITE", now=1.0, password="pw") is AuthResult.OK
    assert srv.verify(creds, method="INVITE", now=2.0, password="pw") is AuthResult.REPLAY
    later = answer_challenge(
        DigestChallenge(
            realm=creds.realm, nonce=creds.nonce, algorithm=creds.algorithm, qop=("auth",)
        ),
        method="INVITE",
        uri="sip:q@pbx",
        username="u",
        password="pw",
        cnonce="c",
        nc=2,
    )
    assert srv.verify(later, method="INVITE", now=3.0, password="pw") is AuthResult.OK


def test_replay_table_is_bounded_and_forgotten_nonces_go_stale() -> None:
    """A flood of nonces cannot grow memory; evicted nonces are answered stale, not OK."""
    srv = server(max_tracked_nonces=3)
    all_creds = [_creds(srv, float(i)) for i in range(6)]
    for i, creds in enumerate(all_creds):
        assert srv.verify(creds, method="INVITE", now=10.0 + i, password="pw") is AuthResult.OK
    assert srv.tracked_nonces == 3
    assert srv.verify(all_creds[0], method="INVITE", now=20.0, password="pw") is (AuthResult.STALE)
    fresh = _creds(srv, 30.0)
    assert srv.verify(fresh, method="INVITE", now=30.0, password="pw") is AuthResult.OK


def test_expired_entries_are_dropped_first_when_full() -> None:
    """Expired nonces leave the replay table before live ones are evicted."""
    srv = server(max_tracked_nonces=2, nonce_ttl=10.0)
    old = _creds(srv, 0.0)
    assert srv.verify(old, method="INVITE", now=1.0, password="pw") is AuthResult.OK
    a, b = _creds(srv, 50.0), _creds(srv, 51.0)
    assert srv.verify(a, method="INVITE", now=52.0, password="pw") is AuthResult.OK
    assert srv.verify(b, method="INVITE", now=53.0, password="pw") is AuthResult.OK
    assert srv.tracked_nonces == 2
    again = answer_challenge(
        DigestChallenge(realm=a.realm, nonce=a.nonce, algorithm=a.algorithm, qop=("auth",)),
        method="INVITE",
        uri="sip:q@pbx",
        username="u",
        password="pw",
        cnonce="c",
        nc=2,
    )
    assert srv.verify(again, method="INVITE", now=54.0, password="pw") is AuthResult.OK


def test_server_policy_checks() -> None:
    """qop is required unless allowed; the URI must match; weak secrets are refused."""
    srv = server()
    nonce = srv.make_nonce(0.0)
    legacy = answer_challenge(
        DigestChallenge(realm=srv.realm, nonce=nonce, algorithm="SHA-256"),
        method="INVITE",
        uri="sip:q@pbx",
        username="u",
        password="pw",
        cnonce="c",
    )
    assert srv.verify(legacy, method="INVITE", now=1.0, password="pw") is AuthResult.INVALID
    lenient = server(allow_no_qop=True)
    legacy2 = answer_challenge(
        DigestChallenge(realm=srv.realm, nonce=lenient.make_nonce(0.0), algorithm="SHA-256"),
        method="INVITE",
        uri="sip:q@pbx",
        username="u",
        password="pw",
        cnonce="c",
    )
    assert lenient.verify(legacy2, method="INVITE", now=1.0, password="pw") is AuthResult.OK
    creds = _creds(srv, 0.0)
    assert (
        srv.verify(creds, method="INVITE", now=1.0, password="pw", request_uri="sip:other@pbx")
        is AuthResult.INVALID
    )
    md5_only = server(algorithms=("MD5",))
    assert md5_only.verify(creds, method="INVITE", now=1.0, password="pw") is (AuthResult.INVALID)
    with pytest.raises(AuthError):
        DigestServer(b"short", "r")


_CRED_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=["Cs", "Cc"], blacklist_characters='"\\'),
    min_size=1,
    max_size=20,
)


@settings(max_examples=100, deadline=None, database=None)
@given(
    username=_CRED_TEXT,
    password=st.text(max_size=20),
    algorithm=st.sampled_from(["MD5", "SHA-256", "MD5-sess", "SHA-256-sess"]),
    nc=st.integers(1, 2**32 - 1),
)
def test_any_credentials_verify_through_their_text_form(
    username: str, password: str, algorithm: str, nc: int
) -> None:
    """Whatever the username (UTF-8 included), password and algorithm, credentials
    serialised to a header and parsed back verify; a changed password does not."""
    srv = server(algorithms=(algorithm,))
    challenge = srv.challenges(0.0)[0]
    creds = answer_challenge(
        challenge,
        method="REGISTER",
        uri="sip:pbx",
        username=username,
        password=password,
        cnonce="cn",
        nc=nc,
    )
    parsed = DigestCredentials.parse(str(creds))
    assert parsed == creds
    assert srv.verify(parsed, method="REGISTER", now=1.0, password=password) is AuthResult.OK
    assert srv.verify(parsed, method="REGISTER", now=1.0, password=password + "x") is (
        AuthResult.INVALID
    )
