"""SipSwitch against real peers on loopback: SIPp as the carrier and as the caller.

Each test starts a :class:`SipSwitch` on 127.0.0.1 (free port), runs SIPp on free
ports with a custom scenario from ``tests/fixtures/sip/sipp`` and a hard timeout,
asserts the Switch events (and SIPp's own verdict: it exits 0 only when its scenario
ran to the end), and kills and reaps SIPp in ``finally``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile

from callcenter.switch.ports import (
    BridgeId,
    HangupCause,
    LegAnswered,
    LegBridged,
    LegHeld,
    LegHungUp,
    LegId,
    LegOffered,
    LegResumed,
    LegRinging,
    LegUnbridged,
    SwitchEvent,
)
from callcenter.switch.sip.b2bua import SipSwitch
from callcenter.switch.sip.trunks import Trunk
from peers import (
    AUDIO_RATE,
    BARESIP,
    BARESIP_MODULES,
    free_media_ports,
    free_udp_port,
    tone_strength,
)
from sipkit import SCENARIOS, SIPP

HARD_TIMEOUT = 20.0
PEER_TIMEOUT = "15s"


class Peer:
    """One SIPp process, its output in ``<cwd>/<name>.log`` (a file: a pipe can fill)."""

    def __init__(self, cwd: Path, name: str) -> None:
        self.cwd = cwd
        self.name = name
        self.process: asyncio.subprocess.Process | None = None

    @property
    def log_path(self) -> Path:
        return self.cwd / f"{self.name}.log"

    async def start(self, *argv: str) -> None:
        with self.log_path.open("wb") as log_file:
            self.process = await asyncio.create_subprocess_exec(
                *argv,
                cwd=self.cwd,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log_file,
                stderr=log_file,
            )

    async def finished(self) -> int:
        assert self.process is not None
        return await self.process.wait()

    async def stop(self) -> None:
        """Kill the peer if it still runs, and reap it."""
        if self.process is None:
            return
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
        await self.process.wait()

    def log(self) -> str:
        text = self.log_path.read_text(errors="replace")[-3000:]
        errors = sorted(self.cwd.glob("*_errors.log"))
        for path in errors:
            text += f"\n--- {path.name}\n" + path.read_text(errors="replace")[-2000:]
        return text


async def sipp_carrier(
    cwd: Path, scenario: str, port: int, *extra: str, name: str = "carrier"
) -> Peer:
    """SIPp as a carrier (UAS) on 127.0.0.1:port, one call, then it exits."""
    peer = Peer(cwd, name)
    await peer.start(
        SIPP,
        "-sf",
        str(SCENARIOS / scenario),
        "-i",
        "127.0.0.1",
        "-p",
        str(port),
        "-mp",
        str(free_media_ports()),
        "-m",
        "1",
        "-nostdin",
        "-timeout",
        PEER_TIMEOUT,
        "-timeout_error",
        "-trace_err",
        *extra,
    )
    return peer


async def sipp_caller(
    cwd: Path, scenario: str, switch: tuple[str, int], *extra: str, name: str = "caller"
) -> Peer:
    """SIPp as a caller (UAC) calling service 2000 at the switch, one call."""
    peer = Peer(cwd, name)
    await peer.start(
        SIPP,
        f"{switch[0]}:{switch[1]}",
        "-sf",
        str(SCENARIOS / scenario),
        "-s",
        "2000",
        "-i",
        "127.0.0.1",
        "-p",
        str(free_udp_port()),
        "-mp",
        str(free_media_ports()),
        "-m",
        "1",
        "-nostdin",
        "-timeout",
        PEER_TIMEOUT,
        "-timeout_error",
        "-trace_err",
        *extra,
    )
    return peer


class Events:
    """The switch's events as they come, and a way to wait for one."""

    def __init__(self, switch: SipSwitch) -> None:
        self.seen: list[SwitchEvent] = []
        self._changed = asyncio.Event()
        self._subscription = switch.subscribe(self._append)

    def _append(self, event: SwitchEvent) -> None:
        self.seen.append(event)
        self._changed.set()

    def of(self, leg: LegId) -> list[SwitchEvent]:
        return [e for e in self.seen if getattr(e, "leg", None) == leg]

    async def wait(self, predicate: Callable[[SwitchEvent], bool], within: float) -> SwitchEvent:
        async with asyncio.timeout(within):
            while True:
                for event in self.seen:
                    if predicate(event):
                        return event
                self._changed.clear()
                await self._changed.wait()

    async def hung_up(self, leg: LegId, within: float = 10.0) -> LegHungUp:
        event = await self.wait(lambda e: isinstance(e, LegHungUp) and e.leg == leg, within)
        assert isinstance(event, LegHungUp)
        return event

    async def answered(self, leg: LegId, within: float = 10.0) -> LegAnswered:
        event = await self.wait(lambda e: isinstance(e, LegAnswered) and e.leg == leg, within)
        assert isinstance(event, LegAnswered)
        return event

    async def offered(self, within: float = 10.0) -> LegOffered:
        event = await self.wait(lambda e: isinstance(e, LegOffered), within)
        assert isinstance(event, LegOffered)
        return event

    def close(self) -> None:
        self._subscription.close()


def carrier(port: int, username: str | None = None, password: str | None = None) -> Trunk:
    return Trunk(
        "carrier", "127.0.0.1", port, caller_id="4000", username=username, password=password
    )


# -- outbound -------------------------------------------------------------------------


@pytest.mark.sipp
async def test_outbound_call_rings_is_answered_and_we_hang_up(tmp_path: Path) -> None:
    """The carrier (SIPp) sends 180 then 200: LegRinging, LegAnswered; our hangup is a
    BYE SIPp answers 200 (its scenario only ends on that BYE)."""
    port = free_udp_port()
    async with asyncio.timeout(HARD_TIMEOUT), SipSwitch([carrier(port)]) as switch:
        events = Events(switch)
        peer = await sipp_carrier(tmp_path, "b2bua_carrier_answer.xml", port)
        try:
            leg = LegId("out-1")
            await switch.originate(leg, "13800138000", caller_id="4000", ring_timeout=10)
            await events.answered(leg)
            await switch.hangup(leg)
            await switch.hangup(leg)
            assert await peer.finished() == 0, peer.log()
        finally:
            await peer.stop()
        kinds = [type(e) for e in events.of(leg)]
        assert kinds == [LegRinging, LegAnswered, LegHungUp], events.seen
        ended = await events.hung_up(leg)
        assert (ended.cause, ended.sip_status, ended.by) == (HangupCause.NORMAL, None, "switch")
        assert switch.rtp_port(leg).latch.signalled is not None
        events.close()


@pytest.mark.sipp
@pytest.mark.parametrize(
    ("status", "cause"),
    [
        (486, HangupCause.BUSY),
        (480, HangupCause.NO_ANSWER),
        (408, HangupCause.NO_ANSWER),
        (404, HangupCause.INVALID_NUMBER),
        (503, HangupCause.CONGESTION),
        (603, HangupCause.REJECTED),
    ],
)
async def test_outbound_call_refused_by_the_carrier(
    tmp_path: Path, status: int, cause: HangupCause
) -> None:
    """The carrier answers the INVITE with ``status``; we ACK it (SIPp waits for the ACK)
    and report LegHungUp with the matching cause and the status."""
    port = free_udp_port()
    async with asyncio.timeout(HARD_TIMEOUT), SipSwitch([carrier(port)]) as switch:
        events = Events(switch)
        template = (SCENARIOS / "b2bua_carrier_fails.xml").read_text()
        scenario = tmp_path / f"carrier_fails_{status}.xml"
        scenario.write_text(template.replace("[status]", str(status)))
        peer = await sipp_carrier(tmp_path, str(scenario), port)
        try:
            leg = LegId("out-fail")
            await switch.originate(leg, "13800138000", caller_id="4000")
            ended = await events.hung_up(leg)
            assert await peer.finished() == 0, peer.log()
        finally:
            await peer.stop()
        assert (ended.cause, ended.sip_status, ended.by) == (cause, status, "remote")
        assert not any(isinstance(e, LegAnswered) for e in events.of(leg))
        events.close()


@pytest.mark.sipp
async def test_ring_timeout_cancels_the_call(tmp_path: Path) -> None:
    """The carrier rings for ever: at the ring timeout we CANCEL (SIPp answers 200 and
    487, which we ACK) and report no_answer by the switch."""
    port = free_udp_port()
    async with asyncio.timeout(HARD_TIMEOUT), SipSwitch([carrier(port)]) as switch:
        events = Events(switch)
        peer = await sipp_carrier(tmp_path, "b2bua_carrier_rings.xml", port)
        try:
            leg = LegId("out-silent")
            start = switch.now()
            await switch.originate(leg, "13800138000", caller_id="4000", ring_timeout=2.0)
            await events.wait(lambda e: isinstance(e, LegRinging), 10)
            ended = await events.hung_up(leg)
            assert await peer.finished() == 0, peer.log()
        finally:
            await peer.stop()
        assert (ended.cause, ended.sip_status, ended.by) == (
            HangupCause.NO_ANSWER,
            None,
            "switch",
        )
        assert 1.9 <= ended.at - start <= 3.0, ended.at - start
        events.close()


@pytest.mark.sipp
async def test_hangup_while_ringing_cancels(tmp_path: Path) -> None:
    """The core hangs up a ringing leg: CANCEL, and LegHungUp(cancelled) at once."""
    port = free_udp_port()
    async with asyncio.timeout(HARD_TIMEOUT), SipSwitch([carrier(port)]) as switch:
        events = Events(switch)
        peer = await sipp_carrier(tmp_path, "b2bua_carrier_rings.xml", port)
        try:
            leg = LegId("out-cancel")
            await switch.originate(leg, "13800138000", caller_id="4000")
            await events.wait(lambda e: isinstance(e, LegRinging), 10)
            await switch.hangup(leg)
            assert await peer.finished() == 0, peer.log()
        finally:
            await peer.stop()
        ended = await events.hung_up(leg)
        assert (ended.cause, ended.by) == (HangupCause.CANCELLED, "switch")
        assert [type(e) for e in events.of(leg)] == [LegRinging, LegHungUp]
        events.close()


@pytest.mark.sipp
async def test_digest_challenge_is_answered(tmp_path: Path) -> None:
    """The carrier challenges with 401 (MD5); we INVITE again with the trunk's
    credentials, SIPp verifies them (verifyauth) and answers; then we hang up."""
    port = free_udp_port()
    trunk = carrier(port, username="trunk-user", password="trunk-secret")
    async with asyncio.timeout(HARD_TIMEOUT), SipSwitch([trunk]) as switch:
        events = Events(switch)
        peer = await sipp_carrier(tmp_path, "b2bua_carrier_auth.xml", port)
        try:
            leg = LegId("out-auth")
            await switch.originate(leg, "13800138000", caller_id="4000")
            await events.answered(leg)
            await switch.hangup(leg)
            assert await peer.finished() == 0, peer.log()
        finally:
            await peer.stop()
        kinds = [type(e) for e in events.of(leg)]
        assert kinds == [LegAnswered, LegHungUp], events.seen
        events.close()


@pytest.mark.sipp
async def test_wrong_credentials_end_the_call_rejected(tmp_path: Path) -> None:
    """With the wrong password SIPp answers 403: one retry only, then rejected."""
    port = free_udp_port()
    trunk = carrier(port, username="trunk-user", password="wrong")
    async with asyncio.timeout(HARD_TIMEOUT), SipSwitch([trunk]) as switch:
        events = Events(switch)
        peer = await sipp_carrier(tmp_path, "b2bua_carrier_auth.xml", port)
        try:
            leg = LegId("out-auth-bad")
            await switch.originate(leg, "13800138000", caller_id="4000")
            ended = await events.hung_up(leg)
            assert await peer.finished() == 0, peer.log()
        finally:
            await peer.stop()
        assert (ended.cause, ended.sip_status) == (HangupCause.REJECTED, 403)
        events.close()


@pytest.mark.sipp
async def test_the_far_end_hangs_up(tmp_path: Path) -> None:
    """The carrier answers, then sends BYE: we answer 200 and report normal, remote."""
    port = free_udp_port()
    async with asyncio.timeout(HARD_TIMEOUT), SipSwitch([carrier(port)]) as switch:
        events = Events(switch)
        peer = await sipp_carrier(tmp_path, "b2bua_carrier_hangs_up.xml", port)
        try:
            leg = LegId("out-remote-bye")
            await switch.originate(leg, "13800138000", caller_id="4000")
            await events.answered(leg)
            ended = await events.hung_up(leg)
            assert await peer.finished() == 0, peer.log()
        finally:
            await peer.stop()
        assert (ended.cause, ended.sip_status, ended.by) == (HangupCause.NORMAL, None, "remote")
        await switch.hangup(leg)  # already ended: a no-op
        assert [type(e) for e in events.of(leg)] == [LegAnswered, LegHungUp]
        events.close()


# -- inbound --------------------------------------------------------------------------


@pytest.mark.sipp
async def test_inbound_call_is_offered_answered_and_hung_up_by_the_caller(tmp_path: Path) -> None:
    """SIPp calls service 2000: LegOffered with caller and dialled; our answer is a 200
    with an SDP answer (SIPp ACKs it); the caller's BYE gets 200 and LegHungUp(normal)."""
    async with asyncio.timeout(HARD_TIMEOUT), SipSwitch() as switch:
        events = Events(switch)
        peer = await sipp_caller(tmp_path, "b2bua_caller.xml", switch.address)
        try:
            offered = await events.offered()
            assert (offered.caller, offered.dialled, offered.trunk) == (
                "13900139000",
                "2000",
                None,
            )
            await switch.answer(offered.leg)
            await switch.answer(offered.leg)  # already answered: a no-op
            ended = await events.hung_up(offered.leg)
            assert await peer.finished() == 0, peer.log()
        finally:
            await peer.stop()
        assert (ended.cause, ended.sip_status, ended.by) == (HangupCause.NORMAL, None, "remote")
        kinds = [type(e) for e in events.of(offered.leg)]
        assert kinds == [LegOffered, LegAnswered, LegHungUp]
        events.close()


@pytest.mark.sipp
async def test_inbound_caller_from_a_trunk_is_named(tmp_path: Path) -> None:
    """A call from a trunk's host carries the trunk's name; the core rejects it busy
    (486, which SIPp does not expect: its scenario fails, ours does not)."""
    trunk = Trunk("pstn", "127.0.0.1", 5060)
    async with asyncio.timeout(HARD_TIMEOUT), SipSwitch([trunk]) as switch:
        events = Events(switch)
        peer = await sipp_caller(tmp_path, "b2bua_caller.xml", switch.address)
        try:
            offered = await events.offered()
            await switch.hangup(offered.leg, HangupCause.BUSY)
            assert await peer.finished() != 0
        finally:
            await peer.stop()
        assert offered.trunk == "pstn"
        ended = await events.hung_up(offered.leg)
        assert (ended.cause, ended.sip_status, ended.by) == (HangupCause.BUSY, 486, "switch")
        assert "486" in peer.log()
        events.close()


@pytest.mark.sipp
async def test_caller_cancels_while_offered(tmp_path: Path) -> None:
    """Nobody answers; the caller CANCELs: 200 to the CANCEL, 487 to the INVITE (SIPp
    expects both and ACKs the 487) and LegHungUp(cancelled)."""
    async with asyncio.timeout(HARD_TIMEOUT), SipSwitch() as switch:
        events = Events(switch)
        peer = await sipp_caller(tmp_path, "b2bua_caller_cancels.xml", switch.address)
        try:
            offered = await events.offered()
            ended = await events.hung_up(offered.leg)
            assert await peer.finished() == 0, peer.log()
        finally:
            await peer.stop()
        assert (ended.cause, ended.sip_status, ended.by) == (
            HangupCause.CANCELLED,
            487,
            "remote",
        )
        await switch.hangup(offered.leg)  # already ended: a no-op
        assert [type(e) for e in events.of(offered.leg)] == [LegOffered, LegHungUp]
        events.close()


@pytest.mark.sipp
async def test_bye_for_an_unknown_dialog_gets_481(tmp_path: Path) -> None:
    """A BYE matching no dialog is answered 481 and changes nothing."""
    async with asyncio.timeout(HARD_TIMEOUT), SipSwitch() as switch:
        events = Events(switch)
        peer = await sipp_caller(tmp_path, "b2bua_stray_bye.xml", switch.address)
        try:
            assert await peer.finished() == 0, peer.log()
        finally:
            await peer.stop()
        assert events.seen == []
        events.close()


# -- bridge ---------------------------------------------------------------------------


def write_tone(path: Path, *, hz: float = 1000.0, seconds: float = 4.0) -> None:
    """A mu-law WAV (what SIPp's rtp_stream plays) of a pure tone."""
    t = np.arange(int(seconds * AUDIO_RATE)) / AUDIO_RATE
    soundfile.write(
        path, 0.5 * np.sin(2 * np.pi * hz * t), AUDIO_RATE, subtype="ULAW", format="WAV"
    )


@pytest.mark.sipp
async def test_bridge_relays_rtp_both_ways(tmp_path: Path) -> None:
    """A caller (SIPp playing a tone with rtp_stream) is bridged to a carrier leg (SIPp
    with -rtp_echo). The relay carries the caller's packets to the carrier and the
    echoes back, latched to the peers' real source ports. The caller's BYE dissolves
    the bridge and leaves the carrier leg up until the core hangs it up."""
    write_tone(tmp_path / "tone.wav")
    port = free_udp_port()
    async with asyncio.timeout(HARD_TIMEOUT), SipSwitch([carrier(port)]) as switch:
        events = Events(switch)
        callee = await sipp_carrier(tmp_path, "b2bua_carrier_answer.xml", port, "-rtp_echo")
        caller: Peer | None = None
        try:
            agent = LegId("agent")
            await switch.originate(agent, "1001", caller_id="4000")
            await events.answered(agent)
            caller = await sipp_caller(tmp_path, "b2bua_caller_streams.xml", switch.address)
            offered = await events.offered()
            customer = offered.leg
            await switch.answer(customer)
            bridge = BridgeId("b1")
            await switch.bridge(bridge, [customer, agent])
            await switch.bridge(bridge, [customer, agent])  # same bridge: a no-op
            await events.hung_up(customer)
            assert await caller.finished() == 0, caller.log()
            await asyncio.sleep(0.5)
            assert not any(isinstance(e, LegHungUp) for e in events.of(agent))
            inbound, outbound = switch.rtp_port(customer), switch.rtp_port(agent)
            await switch.hangup(agent)
            assert await callee.finished() == 0, callee.log()
        finally:
            if caller is not None:
                await caller.stop()
            await callee.stop()
        # About 150 packets in 3 s; echoes of those that came while bridged come back.
        assert inbound.stats.forwarded >= 100, inbound.stats
        assert outbound.stats.forwarded >= 80, outbound.stats
        assert outbound.latch.latched == outbound.latch.signalled  # SIPp echoes from its port
        assert inbound.latch.latched is not None
        kinds = [type(e) for e in events.of(customer)]
        assert kinds == [LegOffered, LegAnswered, LegBridged, LegUnbridged, LegHungUp], kinds
        kinds = [type(e) for e in events.of(agent)]
        assert kinds == [LegRinging, LegAnswered, LegBridged, LegUnbridged, LegHungUp], kinds
        events.close()


def baresip_agent(directory: Path, *, sip_port: int, source: Path, recordings: Path) -> None:
    """A headless baresip agent phone: loopback only, auto-answer, PCMU, plays
    ``source`` as its microphone and writes each call's audio (sndfile) in
    ``recordings``."""
    directory.mkdir()
    recordings.mkdir()
    (directory / "config").write_text(
        "\n".join(
            [
                "poll_method epoll",
                f"sip_listen 127.0.0.1:{sip_port}",
                "net_interface 127.0.0.1",
                f"module_path {BARESIP_MODULES}",
                "module g711.so",
                "module aufile.so",
                "module sndfile.so",
                "module_app account.so",
                f"audio_source aufile,{source}",
                "audio_player null",
                "audio_alert null",
                f"snd_path {recordings}",
                "",
            ]
        )
    )
    (directory / "accounts").write_text(
        f"<sip:agent@127.0.0.1:{sip_port}>;regint=0;answermode=auto;audio_codecs=PCMU\n"
    )
    (directory / "contacts").write_text("")


@pytest.mark.sipp
@pytest.mark.baresip
async def test_the_callers_tone_reaches_the_agents_baresip(tmp_path: Path) -> None:
    """A caller (SIPp, rtp_stream of a 1 kHz tone) is bridged to an agent's baresip
    (auto-answer, called straight at its sip: URI). baresip's recording of what it
    received holds the tone: most of its energy is at 1 kHz."""
    write_tone(tmp_path / "tone.wav")
    silence = tmp_path / "silence.wav"
    soundfile.write(
        silence, np.zeros(30 * AUDIO_RATE, dtype=np.int16), AUDIO_RATE, subtype="PCM_16"
    )
    sip_port = free_udp_port(also_next=True)
    recordings = tmp_path / "recordings"
    baresip_agent(tmp_path / "baresip", sip_port=sip_port, source=silence, recordings=recordings)
    async with asyncio.timeout(HARD_TIMEOUT), SipSwitch() as switch:
        events = Events(switch)
        phone = Peer(tmp_path, "baresip")
        await phone.start(BARESIP, "-f", str(tmp_path / "baresip"), "-t", str(int(HARD_TIMEOUT)))
        caller: Peer | None = None
        try:
            agent = LegId("agent")
            await switch.originate(agent, f"sip:agent@127.0.0.1:{sip_port}", caller_id="4000")
            await events.answered(agent)
            caller = await sipp_caller(tmp_path, "b2bua_caller_streams.xml", switch.address)
            offered = await events.offered()
            await switch.answer(offered.leg)
            await switch.bridge(BridgeId("b1"), [offered.leg, agent])
            await events.hung_up(offered.leg)
            assert await caller.finished() == 0, caller.log()
            await switch.hangup(agent)
            await asyncio.sleep(0.5)  # baresip closes its recording when the call ends
            assert phone.process is not None
            phone.process.terminate()
            await phone.finished()
        finally:
            if caller is not None:
                await caller.stop()
            await phone.stop()
        received = sorted(recordings.glob("*dec*.wav"))
        assert received, f"{sorted(recordings.iterdir())}\n{phone.log()}"
        audio, rate = soundfile.read(received[-1])
        assert rate == AUDIO_RATE
        assert len(audio) >= 2 * AUDIO_RATE, len(audio)
        strength = tone_strength(np.asarray(audio[: 3 * AUDIO_RATE], dtype=np.float64), 1000.0)
        assert strength > 0.8, strength
        events.close()


# -- mid-call: hold, session timers, RTP inactivity ------------------------------------


@pytest.mark.sipp
async def test_hold_and_resume_reach_the_carrier_as_reinvites(tmp_path: Path) -> None:
    """hold: SIPp gets a re-INVITE with a=inactive and answers it (its scenario checks
    the direction), LegHeld; resume: a=sendrecv, LegResumed; then our BYE."""
    port = free_udp_port()
    async with asyncio.timeout(HARD_TIMEOUT), SipSwitch([carrier(port)]) as switch:
        events = Events(switch)
        peer = await sipp_carrier(tmp_path, "b2bua_carrier_held.xml", port)
        try:
            leg = LegId("out-held")
            await switch.originate(leg, "13800138000", caller_id="4000")
            await events.answered(leg)
            await switch.hold(leg, "moh")
            await events.wait(lambda e: isinstance(e, LegHeld), 5)
            await switch.resume(leg)
            await events.wait(lambda e: isinstance(e, LegResumed), 5)
            await switch.hangup(leg)
            assert await peer.finished() == 0, peer.log()
        finally:
            await peer.stop()
        kinds = [type(e) for e in events.of(leg)]
        assert kinds == [LegRinging, LegAnswered, LegHeld, LegResumed, LegHungUp], kinds
        events.close()


@pytest.mark.sipp
async def test_a_session_whose_refresh_goes_unanswered_is_torn_down(tmp_path: Path) -> None:
    """The carrier answers with a 2 s session timer that we refresh (RFC 4028), then
    goes silent: our refresh re-INVITE (at 1 s) gets no answer, and at the deadline
    (2 s less a third) we send BYE, which SIPp answers, and report failed."""
    port = free_udp_port()
    async with (
        asyncio.timeout(HARD_TIMEOUT),
        SipSwitch([carrier(port)], session_expires=90) as switch,
    ):
        events = Events(switch)
        peer = await sipp_carrier(tmp_path, "b2bua_carrier_goes_silent.xml", port)
        try:
            leg = LegId("out-silent")
            await switch.originate(leg, "13800138000", caller_id="4000")
            answered = await events.answered(leg)
            ended = await events.hung_up(leg, within=5)
            assert await peer.finished() == 0, peer.log()
        finally:
            await peer.stop()
        assert (ended.cause, ended.sip_status, ended.by) == (HangupCause.FAILED, None, "switch")
        assert 1.2 <= ended.at - answered.at <= 2.0, ended.at - answered.at
        events.close()


@pytest.mark.sipp
async def test_a_bridged_leg_that_sends_no_rtp_is_torn_down(tmp_path: Path) -> None:
    """rtp_timeout 1 s: a caller streaming a tone is bridged to a carrier that answers
    but never sends RTP. About a second later the carrier gets our BYE (its scenario
    ends on it) and its leg is reported failed by the switch; the caller, whose RTP
    keeps coming, stays up until it hangs up by itself."""
    write_tone(tmp_path / "tone.wav")
    port = free_udp_port()
    async with (
        asyncio.timeout(HARD_TIMEOUT),
        SipSwitch([carrier(port)], rtp_timeout=1.0) as switch,
    ):
        events = Events(switch)
        callee = await sipp_carrier(tmp_path, "b2bua_carrier_answer.xml", port)
        caller: Peer | None = None
        try:
            agent = LegId("silent-carrier")
            await switch.originate(agent, "13800138000", caller_id="4000")
            await events.answered(agent)
            caller = await sipp_caller(tmp_path, "b2bua_caller_streams.xml", switch.address)
            offered = await events.offered()
            await switch.answer(offered.leg)
            await switch.bridge(BridgeId("b-silent"), [offered.leg, agent])
            bridged_at = switch.now()
            ended = await events.hung_up(agent, within=5)
            assert await callee.finished() == 0, callee.log()
            customer_end = await events.hung_up(offered.leg, within=8)
            assert await caller.finished() == 0, caller.log()
        finally:
            if caller is not None:
                await caller.stop()
            await callee.stop()
        assert (ended.cause, ended.by) == (HangupCause.FAILED, "switch")
        assert 0.9 <= ended.at - bridged_at <= 2.5, ended.at - bridged_at
        assert (customer_end.cause, customer_end.by) == (HangupCause.NORMAL, "remote")
        events.close()
