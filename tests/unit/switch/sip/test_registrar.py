"""The sans-io registrar, driven with a virtual clock (RFC 3261 10.3, RFC 7616)."""

from __future__ import annotations

from itertools import count

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.sip.auth import DigestClient, DigestServer
from callcenter.sip.headers import Headers
from callcenter.sip.message import Request, Response, make_response
from callcenter.sip.uri import SipUri
from callcenter.switch.sip.registrar import (
    Binding,
    BindingAdded,
    BindingReachabilityChanged,
    BindingRefreshed,
    BindingRemoved,
    Credential,
    Ha1,
    Registrar,
    RegistrarEvent,
)

SECRET = b"registrar-test-secret-0123456789"
REALM = "callcenter.test"
PHONE = ("192.0.2.10", 5062)
DESK = ("192.0.2.11", 5064)


def registrar(
    credentials: dict[str, Credential] | None = None,
    *,
    algorithms: tuple[str, ...] = ("SHA-256", "MD5"),
    nonce_ttl: float = 300.0,
    qualify_interval: float | None = 30.0,
    max_contacts: int = 10,
) -> Registrar:
    tokens = count(1)
    return Registrar(
        credentials if credentials is not None else {"1001": "secret", "1002": "other"},
        DigestServer(SECRET, REALM, algorithms=algorithms, nonce_ttl=nonce_ttl),
        min_expires=60,
        max_expires=3600,
        default_expires=600,
        max_contacts=max_contacts,
        qualify_interval=qualify_interval,
        qualify_timeout=5.0,
        local_address=("192.0.2.1", 5060),
        token=lambda: f"t{next(tokens)}",
    )


class Phone:
    """A SIP phone's REGISTER side: one Call-ID, CSeq going up, digest answers."""

    def __init__(
        self,
        extension: str = "1001",
        password: str = "secret",
        *,
        addr: tuple[str, int] = PHONE,
        call_id: str = "reg-1@phone",
        cseq: int = 1,
    ) -> None:
        self.extension = extension
        self.client = DigestClient(extension, password)
        self.addr = addr
        self.call_id = call_id
        self.cseq = cseq
        self._branches = count(1)

    def request(
        self,
        *contacts: str,
        expires: int | None = None,
        extra: tuple[tuple[str, str], ...] = (),
    ) -> Request:
        host, port = self.addr
        fields = [
            ("Via", f"SIP/2.0/UDP {host}:{port};branch=z9hG4bK{next(self._branches)};rport"),
            ("Max-Forwards", "70"),
            ("From", f"<sip:{self.extension}@{REALM}>;tag=ph"),
            ("To", f"<sip:{self.extension}@{REALM}>"),
            ("Call-ID", self.call_id),
            ("CSeq", f"{self.cseq} REGISTER"),
        ]
        self.cseq += 1
        fields += [("Contact", c) for c in contacts]
        if expires is not None:
            fields.append(("Expires", str(expires)))
        fields += extra
        return Request(method="REGISTER", uri=SipUri(REALM), headers=Headers.of(*fields))

    def authorize(self, request: Request, challenge: Response) -> Request:
        authorized = self.client.authorize(
            request, challenge, cnonce="c0ffee", branch=f"z9hG4bKauth{next(self._branches)}"
        )
        self.cseq = authorized.cseq.seq + 1
        return authorized

    def register(
        self,
        reg: Registrar,
        *contacts: str,
        now: float,
        expires: int | None = None,
        extra: tuple[tuple[str, str], ...] = (),
    ) -> Response:
        """REGISTER, answer the 401 and return the final response."""
        first = self.request(*contacts, expires=expires, extra=extra)
        challenge = reg.handle_register(first, self.addr, now)
        assert challenge.status == 401
        return reg.handle_register(self.authorize(first, challenge), self.addr, now)


def contact_expires(response: Response) -> dict[str, int]:
    out: dict[str, int] = {}
    for contact in response.contacts.contacts:
        value = contact.param("expires")
        assert value is not None
        out[str(contact.uri)] = int(value)
    return out


def events(reg: Registrar) -> list[RegistrarEvent]:
    out: list[RegistrarEvent] = []
    while (event := reg.next_event()) is not None:
        out.append(event)
    return out


def contacts_of(bindings: list[Binding]) -> list[str]:
    return [str(b.contact.uri) for b in bindings]


# --- challenge and accept ---


def test_register_without_credentials_is_challenged_once_per_algorithm() -> None:
    """The first REGISTER gets 401 with a SHA-256 then an MD5 challenge, and no binding."""
    reg = registrar()
    response = reg.handle_register(Phone().request("<sip:1001@192.0.2.10:5062>"), PHONE, now=100.0)
    assert response.status == 401
    challenges = response.headers.get_all("WWW-Authenticate")
    assert [c.split("algorithm=")[1].split(",")[0] for c in challenges] == ["SHA-256", "MD5"]
    assert all('qop="auth"' in c and f'realm="{REALM}"' in c for c in challenges)
    assert response.to_addr.tag is not None
    assert reg.where("1001", 100.0) == []
    assert events(reg) == []


def test_authenticated_register_is_accepted_and_lists_the_binding() -> None:
    """Digest with the right password: 200 lists the contact with its expires."""
    reg = registrar()
    phone = Phone()
    ok = phone.register(reg, "<sip:1001@192.0.2.10:5062>", now=100.0, expires=120)
    assert ok.status == 200
    assert contact_expires(ok) == {"sip:1001@192.0.2.10:5062": 120}
    (binding,) = reg.where("1001", 100.0)
    assert binding.source == PHONE
    assert binding.expires_at == 220.0
    assert binding.reachable
    (added,) = events(reg)
    assert isinstance(added, BindingAdded)
    assert added.binding == binding


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256"])
def test_each_algorithm_alone_works(algorithm: str) -> None:
    """A registrar offering only one algorithm authenticates with it."""
    reg = registrar(algorithms=(algorithm,))
    ok = Phone().register(reg, "<sip:1001@192.0.2.10:5062>", now=0.0)
    assert ok.status == 200


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256"])
def test_stored_ha1_instead_of_password(algorithm: str) -> None:
    """The credentials table may hold HA1 values instead of passwords."""
    reg = registrar({"1001": Ha1.of("1001", REALM, "secret")}, algorithms=(algorithm,))
    assert Phone().register(reg, "<sip:1001@192.0.2.10:5062>", now=0.0).status == 200


def test_ha1_without_the_offered_algorithm_is_refused() -> None:
    """Only an MD5 HA1 is stored: SHA-256 credentials cannot be checked -> 403."""
    md5_only = Ha1(md5=Ha1.of("1001", REALM, "secret").md5)
    reg = registrar({"1001": md5_only}, algorithms=("SHA-256",))
    assert Phone().register(reg, "<sip:1001@192.0.2.10:5062>", now=0.0).status == 403


def test_wrong_password_is_forbidden_and_creates_nothing() -> None:
    """A wrong password gets 403 (not a loop of 401s) and no binding or nonce state."""
    reg = registrar()
    response = Phone(password="wrong").register(reg, "<sip:1001@192.0.2.10:5062>", now=0.0)
    assert response.status == 403
    assert reg.binding_count == 0
    assert reg.digest.tracked_nonces == 0


def test_unknown_extension_is_forbidden_like_a_wrong_password() -> None:
    """No enumeration: an unknown user is challenged, then refused the same way."""
    reg = registrar()
    response = Phone("4242").register(reg, "<sip:4242@192.0.2.10:5062>", now=0.0)
    assert response.status == 403


def test_forged_nonce_is_challenged_again() -> None:
    """Credentials on a nonce we never issued (e.g. before a restart) get a fresh 401."""
    reg = registrar()
    other = Registrar({"1001": "secret"}, DigestServer(b"another-secret-0123456789abcdef!", REALM))
    phone = Phone()
    first = phone.request("<sip:1001@192.0.2.10:5062>")
    challenge = other.handle_register(first, PHONE, 0.0)
    response = reg.handle_register(phone.authorize(first, challenge), PHONE, 0.0)
    assert response.status == 401
    assert "stale" not in (response.headers.get("WWW-Authenticate") or "")


def test_other_realm_credentials_are_challenged() -> None:
    """Credentials for someone else's realm are ignored: 401."""
    reg = registrar()
    other = Registrar({"1001": "secret"}, DigestServer(SECRET, "elsewhere.test"))
    phone = Phone()
    first = phone.request("<sip:1001@192.0.2.10:5062>")
    challenge = other.handle_register(first, PHONE, 0.0)
    assert reg.handle_register(phone.authorize(first, challenge), PHONE, 0.0).status == 401


def test_stale_nonce_is_rechallenged_with_stale_true() -> None:
    """Right password on an expired nonce: 401 stale=true, and the retry succeeds."""
    reg = registrar(nonce_ttl=30.0)
    phone = Phone()
    first = phone.request("<sip:1001@192.0.2.10:5062>")
    challenge = reg.handle_register(first, PHONE, 0.0)
    late = reg.handle_register(phone.authorize(first, challenge), PHONE, 31.0)
    assert late.status == 401
    assert all("stale=true" in c for c in late.headers.get_all("WWW-Authenticate"))
    retry = reg.handle_register(phone.authorize(first, late), PHONE, 31.0)
    assert retry.status == 200


def test_replayed_credentials_are_rechallenged() -> None:
    """The same nc on the same nonce twice is a replay: 401 stale, nothing changes."""
    reg = registrar()
    phone = Phone()
    first = phone.request("<sip:1001@192.0.2.10:5062>")
    challenge = reg.handle_register(first, PHONE, 0.0)
    authorized = phone.authorize(first, challenge)
    assert reg.handle_register(authorized, PHONE, 0.0).status == 200
    replay = reg.handle_register(authorized, PHONE, 1.0)
    assert replay.status == 401
    assert "stale=true" in (replay.headers.get("WWW-Authenticate") or "")


def test_user_may_not_register_someone_elses_extension() -> None:
    """1002 authenticates fine but asks for 1001's AoR: 403 (RFC 3261 10.3 step 6)."""
    reg = registrar()
    phone = Phone("1002", "other")
    first = Request(
        method="REGISTER",
        uri=SipUri(REALM),
        headers=phone.request("<sip:1002@192.0.2.10>").headers.set("To", f"<sip:1001@{REALM}>"),
    )
    challenge = reg.handle_register(first, PHONE, 0.0)
    assert reg.handle_register(phone.authorize(first, challenge), PHONE, 0.0).status == 403
    assert reg.binding_count == 0


def test_to_without_user_is_not_found() -> None:
    """An address-of-record without a user part is not one of ours: 404."""
    reg = registrar()
    request = Phone().request("<sip:1001@192.0.2.10>")
    request = request.with_headers(request.headers.set("To", f"<sip:{REALM}>"))
    assert reg.handle_register(request, PHONE, 0.0).status == 404


def test_unsupported_require_is_420() -> None:
    """A Require option tag we do not know fails before authentication (step 2)."""
    reg = registrar()
    request = Phone().request("<sip:1001@192.0.2.10>", extra=(("Require", "gruu"),))
    response = reg.handle_register(request, PHONE, 0.0)
    assert response.status == 420
    assert response.headers.get("Unsupported") == "gruu"


def test_bad_expires_header_is_400() -> None:
    reg = registrar()
    phone = Phone()
    request = phone.request("<sip:1001@192.0.2.10>", extra=(("Expires", "soon"),))
    challenge = reg.handle_register(request, PHONE, 0.0)
    response = reg.handle_register(phone.authorize(request, challenge), PHONE, 0.0)
    assert response.status == 400
    assert reg.binding_count == 0


# --- expiry ---


def test_too_short_expires_is_423_with_min_expires() -> None:
    """expires=10 is under our minimum of 60: 423 Interval Too Brief, Min-Expires: 60."""
    reg = registrar()
    response = Phone().register(reg, "<sip:1001@192.0.2.10>;expires=10", now=0.0)
    assert response.status == 423
    assert response.headers.get("Min-Expires") == "60"
    assert reg.binding_count == 0


def test_too_long_expires_is_shortened_to_the_maximum() -> None:
    reg = registrar()
    ok = Phone().register(reg, "<sip:1001@192.0.2.10>", now=0.0, expires=86400)
    assert contact_expires(ok) == {"sip:1001@192.0.2.10": 3600}


def test_default_expires_applies_without_any_expires() -> None:
    reg = registrar()
    ok = Phone().register(reg, "<sip:1001@192.0.2.10>", now=0.0)
    assert contact_expires(ok) == {"sip:1001@192.0.2.10": 600}


def test_binding_expires_on_the_virtual_clock() -> None:
    """A 120 s binding is there at 119 s and gone at 120 s, with a removal event."""
    reg = registrar(qualify_interval=None)
    Phone().register(reg, "<sip:1001@192.0.2.10>", now=0.0, expires=120)
    events(reg)
    assert reg.get_timer() == 120.0
    reg.handle_timer(119.0)
    assert contacts_of(reg.where("1001", 119.0)) == ["sip:1001@192.0.2.10"]
    assert reg.where("1001", 120.0) == []
    reg.handle_timer(120.0)
    assert reg.binding_count == 0
    assert reg.get_timer() is None
    (removed,) = events(reg)
    assert isinstance(removed, BindingRemoved)
    assert removed.reason == "expired"


def test_refresh_extends_the_binding() -> None:
    """Re-registering with a higher CSeq moves the expiry and keeps one binding."""
    reg = registrar(qualify_interval=None)
    phone = Phone()
    phone.register(reg, "<sip:1001@192.0.2.10>", now=0.0, expires=120)
    ok = phone.register(reg, "<sip:1001@192.0.2.10>", now=100.0, expires=120)
    assert contact_expires(ok) == {"sip:1001@192.0.2.10": 120}
    (binding,) = reg.where("1001", 200.0)
    assert binding.expires_at == 220.0
    assert binding.registered_at == 0.0
    assert [type(e) for e in events(reg)] == [BindingAdded, BindingRefreshed]


def test_remaining_expires_is_reported_for_other_bindings() -> None:
    """The 200 shows each binding's remaining time, not the one asked for."""
    reg = registrar(qualify_interval=None)
    Phone(call_id="a").register(reg, "<sip:1001@192.0.2.10>", now=0.0, expires=600)
    ok = Phone(call_id="b", addr=DESK).register(
        reg, "<sip:1001@192.0.2.11>", now=100.0, expires=300
    )
    assert contact_expires(ok) == {"sip:1001@192.0.2.10": 500, "sip:1001@192.0.2.11": 300}


# --- several contacts, removal ---


def test_several_contacts_per_extension_best_q_first() -> None:
    """A desk phone and a softphone both ring; where() lists higher q first."""
    reg = registrar()
    Phone(call_id="desk", addr=DESK).register(reg, "<sip:1001@192.0.2.11>;q=0.5", now=0.0)
    ok = Phone(call_id="soft").register(
        reg, "<sip:1001@192.0.2.10>;q=0.9", "<sip:1001@192.0.2.12>", now=1.0, expires=300
    )
    assert ok.status == 200
    assert len(contact_expires(ok)) == 3
    assert contacts_of(reg.where("1001", 2.0)) == [
        "sip:1001@192.0.2.12",
        "sip:1001@192.0.2.10",
        "sip:1001@192.0.2.11",
    ]
    assert reg.where("1002", 2.0) == []


def test_query_without_contact_lists_bindings_and_changes_nothing() -> None:
    reg = registrar()
    phone = Phone()
    phone.register(reg, "<sip:1001@192.0.2.10>", now=0.0, expires=300)
    events(reg)
    ok = phone.register(reg, now=10.0)
    assert contact_expires(ok) == {"sip:1001@192.0.2.10": 290}
    assert events(reg) == []


def test_expires_zero_removes_one_contact() -> None:
    reg = registrar()
    phone = Phone()
    phone.register(reg, "<sip:1001@192.0.2.10>", "<sip:1001@192.0.2.12>", now=0.0)
    ok = phone.register(reg, "<sip:1001@192.0.2.12>;expires=0", now=5.0)
    assert contact_expires(ok) == {"sip:1001@192.0.2.10": 595}


def test_star_with_expires_zero_removes_every_binding() -> None:
    """Contact: * with Expires: 0 unregisters all the extension's phones."""
    reg = registrar()
    Phone(call_id="desk", addr=DESK).register(reg, "<sip:1001@192.0.2.11>", now=0.0)
    phone = Phone(call_id="soft")
    phone.register(reg, "<sip:1001@192.0.2.10>", now=0.0)
    events(reg)
    ok = phone.register(reg, "*", now=10.0, expires=0)
    assert ok.status == 200
    assert ok.headers.get("Contact") is None
    assert reg.where("1001", 10.0) == []
    assert reg.binding_count == 0
    removed = events(reg)
    assert {e.reason for e in removed if isinstance(e, BindingRemoved)} == {"unregistered"}
    assert len(removed) == 2


def test_star_without_expires_zero_is_400() -> None:
    reg = registrar()
    phone = Phone()
    phone.register(reg, "<sip:1001@192.0.2.10>", now=0.0)
    assert phone.register(reg, "*", now=1.0, expires=60).status == 400
    assert phone.register(reg, "*", now=1.0).status == 400
    assert len(reg.where("1001", 1.0)) == 1


def test_too_many_contacts_is_refused_as_a_whole() -> None:
    reg = registrar(max_contacts=2)
    phone = Phone()
    phone.register(reg, "<sip:1001@192.0.2.10>", "<sip:1001@192.0.2.11>", now=0.0)
    assert phone.register(reg, "<sip:1001@192.0.2.12>", now=1.0).status == 403
    assert len(reg.where("1001", 1.0)) == 2


# --- Call-ID / CSeq ordering (RFC 3261 10.3 step 7) ---


def test_same_call_id_with_lower_cseq_fails_and_changes_nothing() -> None:
    """An old REGISTER arriving late (same Call-ID, lower CSeq) cannot undo a newer one."""
    reg = registrar()
    phone = Phone(cseq=10)
    phone.register(reg, "<sip:1001@192.0.2.10>", now=0.0, expires=300)
    phone.cseq = 5
    late = phone.register(reg, "<sip:1001@192.0.2.10>;expires=0", now=1.0)
    assert late.status == 500
    assert len(reg.where("1001", 1.0)) == 1


def test_star_with_old_cseq_fails_atomically() -> None:
    """'*' removes bindings of other Call-IDs only if every same-Call-ID one is older."""
    reg = registrar()
    Phone(call_id="desk", addr=DESK).register(reg, "<sip:1001@192.0.2.11>", now=0.0)
    phone = Phone(call_id="soft", cseq=50)
    phone.register(reg, "<sip:1001@192.0.2.10>", now=0.0)
    phone.cseq = 3
    assert phone.register(reg, "*", now=1.0, expires=0).status == 500
    assert len(reg.where("1001", 1.0)) == 2


def test_a_different_call_id_replaces_the_binding() -> None:
    """After a reboot the phone uses a new Call-ID and a low CSeq: accepted."""
    reg = registrar()
    Phone(call_id="before-reboot", cseq=900).register(reg, "<sip:1001@192.0.2.10>", now=0.0)
    after = Phone(call_id="after-reboot", cseq=1)
    assert after.register(reg, "<sip:1001@192.0.2.10>", now=50.0).status == 200
    (binding,) = reg.where("1001", 50.0)
    assert binding.call_id == "after-reboot"


# --- bounded memory ---


def test_unauthenticated_flood_creates_no_state() -> None:
    """2,000 REGISTERs with no or bad credentials leave no binding and no nonce state."""
    reg = registrar()
    victim = Phone(password="guess")
    for i in range(1_000):
        attacker = Phone(f"{2000 + i}", call_id=f"flood-{i}")
        challenge = reg.handle_register(attacker.request("<sip:x@192.0.2.66>"), PHONE, i)
        assert challenge.status == 401
        first = victim.request("<sip:1001@192.0.2.66>")
        challenge = reg.handle_register(first, PHONE, float(i))
        bad = reg.handle_register(victim.authorize(first, challenge), PHONE, float(i))
        assert bad.status == 403
    assert reg.binding_count == 0
    assert reg.digest.tracked_nonces == 0
    assert reg.get_timer() is None
    assert events(reg) == []


# --- qualify ---


def qualify_options(reg: Registrar, now: float) -> list[tuple[Request, tuple[str, int]]]:
    reg.handle_timer(now)
    return reg.requests_to_send()


def test_qualify_sends_options_to_the_source_and_an_answer_keeps_it_reachable() -> None:
    reg = registrar()
    Phone().register(reg, "<sip:1001@192.0.2.10:5062>", now=0.0)
    events(reg)
    assert reg.get_timer() == 30.0
    assert qualify_options(reg, 29.0) == []
    ((options, addr),) = qualify_options(reg, 30.0)
    assert addr == PHONE
    assert options.method == "OPTIONS"
    assert str(options.uri) == "sip:1001@192.0.2.10:5062"
    assert options.top_via.host == "192.0.2.1"
    assert reg.receive_response(make_response(options, 200, to_tag="p"), 30.1)
    (binding,) = reg.where("1001", 31.0)
    assert binding.reachable
    assert binding.last_qualified == 30.1
    assert events(reg) == []


def test_no_answer_to_qualify_marks_the_binding_unreachable_then_reachable_again() -> None:
    """The phone stops answering: unreachable after the timeout, back when it answers."""
    reg = registrar()
    Phone().register(reg, "<sip:1001@192.0.2.10:5062>", now=0.0)
    events(reg)
    ((lost, _),) = qualify_options(reg, 30.0)
    assert reg.get_timer() == 35.0
    assert qualify_options(reg, 35.0) == []
    (binding,) = reg.where("1001", 35.0)
    assert not binding.reachable
    (changed,) = events(reg)
    assert isinstance(changed, BindingReachabilityChanged)
    assert not changed.binding.reachable
    assert not reg.receive_response(make_response(lost, 200), 36.0)  # too late: ignored
    ((options, _),) = qualify_options(reg, 60.0)
    assert options.top_via.branch != lost.top_via.branch
    reg.receive_response(make_response(options, 200), 60.2)
    assert reg.where("1001", 61.0)[0].reachable
    (back,) = events(reg)
    assert isinstance(back, BindingReachabilityChanged)
    assert back.binding.reachable


def test_transaction_timeout_and_408_mark_unreachable() -> None:
    reg = registrar()
    Phone().register(reg, "<sip:1001@192.0.2.10:5062>", now=0.0)
    ((options, _),) = qualify_options(reg, 30.0)
    assert reg.qualify_failed(options.top_via.branch or "", 32.0)
    assert not reg.where("1001", 32.0)[0].reachable
    ((options, _),) = qualify_options(reg, 60.0)
    reg.receive_response(make_response(options, 100), 60.1)  # provisional: keep waiting
    reg.receive_response(make_response(options, 408), 60.2)
    assert not reg.where("1001", 61.0)[0].reachable


def test_an_error_answer_still_proves_the_phone_is_there() -> None:
    """A 405 or 501 to OPTIONS comes from the phone: reachable."""
    reg = registrar()
    Phone().register(reg, "<sip:1001@192.0.2.10:5062>", now=0.0)
    ((options, _),) = qualify_options(reg, 30.0)
    reg.receive_response(make_response(options, 501), 30.1)
    assert reg.where("1001", 31.0)[0].reachable


def test_unregistered_binding_is_no_longer_qualified() -> None:
    reg = registrar()
    phone = Phone()
    phone.register(reg, "<sip:1001@192.0.2.10:5062>", now=0.0)
    qualify_options(reg, 30.0)
    phone.register(reg, "*", now=31.0, expires=0)
    assert qualify_options(reg, 60.0) == []
    assert reg.get_timer() is None


def test_responses_that_are_not_ours_are_ignored() -> None:
    reg = registrar()
    stray = make_response(Phone().request("<sip:1001@192.0.2.10>"), 200)
    assert not reg.receive_response(stray, 0.0)
    assert not reg.qualify_failed("z9hG4bKnothing", 0.0)


def test_many_refreshes_leave_one_timer_at_the_latest_expiry() -> None:
    """Stale deadlines of earlier refreshes neither fire nor pile up as the next timer."""
    reg = registrar(qualify_interval=None)
    phone = Phone()
    for second in range(200):
        phone.register(reg, "<sip:1001@192.0.2.10>", now=float(second), expires=120)
    assert reg.get_timer() == 199.0 + 120
    reg.handle_timer(300.0)
    assert len(reg.where("1001", 300.0)) == 1
    reg.handle_timer(319.0)
    assert reg.binding_count == 0


# --- hostile input ---

_header_text = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=0, max_size=60
)


@settings(max_examples=200, deadline=None)
@given(contact=_header_text, expires=_header_text, authorization=_header_text)
def test_any_contact_expires_or_authorization_gets_an_answer(
    contact: str, expires: str, authorization: str
) -> None:
    """Whatever the phone writes in these headers, the registrar answers and never raises."""
    reg = registrar()
    phone = Phone()
    extra = (("Expires", expires), ("Authorization", authorization))
    response = reg.handle_register(phone.request(contact, extra=extra), PHONE, 0.0)
    assert response.status in {400, 401, 403}
    first = phone.request(contact, extra=(("Expires", expires),))
    challenge = reg.handle_register(first, PHONE, 0.0)
    answer = reg.handle_register(phone.authorize(first, challenge), PHONE, 0.0)
    assert answer.status in {200, 400, 403, 423, 500}
    assert reg.binding_count == len(reg.where("1001", 0.0))


def test_unbind_drops_every_binding_and_its_qualify() -> None:
    """An agent removed from the platform: its phones are dropped at once."""
    reg = registrar()
    Phone().register(reg, "<sip:1001@192.0.2.10>", "<sip:1001@192.0.2.12>", now=0.0)
    events(reg)
    del reg.credentials["1001"]
    assert len(reg.unbind("1001")) == 2
    assert reg.where("1001", 0.0) == []
    assert reg.get_timer() is None
    assert {e.reason for e in events(reg) if isinstance(e, BindingRemoved)} == {"removed"}
    assert Phone().register(reg, "<sip:1001@192.0.2.10>", now=1.0).status == 403
