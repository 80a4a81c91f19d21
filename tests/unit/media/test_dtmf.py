"""DTMF: RFC 4733 payloads, exactly-once reception, send schedules, Goertzel detection."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from callcenter.media.dtmf import (
    DIGIT_FREQUENCIES,
    DTMF_BLOCK,
    DTMF_DIGITS,
    END_PACKET_REPEATS,
    DigitReceived,
    DtmfDetector,
    TelephoneEvent,
    TelephoneEventReceiver,
    TelephoneEventSender,
    event_for_digit,
    goertzel_powers,
)
from callcenter.media.errors import InvalidDigitError, TelephoneEventParseError
from callcenter.media.g711 import alaw_to_pcm16, pcm16_to_alaw, pcm16_to_ulaw, ulaw_to_pcm16
from callcenter.media.rtp import RtpPacket, RtpSender
from callcenter.media.tones import dtmf_sequence, dtmf_tone, silence

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "media"
RATE = 8000


def load_hex(name: str) -> bytes:
    lines = (FIXTURES / name).read_text().splitlines()
    return bytes.fromhex(" ".join(line for line in lines if not line.startswith("#")))


def event_packet(
    ts: int, event: int, *, end: bool = False, duration: int = 160, seq: int = 0
) -> RtpPacket:
    payload = bytes(TelephoneEvent(event, end=end, volume=10, duration=duration))
    return RtpPacket(101, seq, ts, 0x42, payload, marker=False)


# --- RFC 4733 payload ---------------------------------------------------------------


def test_captured_end_packet_parses_and_round_trips() -> None:
    """Digit 5, end bit, volume 10, 100 ms: the last packet a phone sends for a key."""
    data = load_hex("rfc4733_digit5_end.hex")
    event = TelephoneEvent.parse(data)
    assert event == TelephoneEvent(event=5, end=True, volume=10, duration=800)
    assert event.digit == "5"
    assert bytes(event) == data


def test_reserved_bit_is_ignored_and_trailing_octets_tolerated() -> None:
    """RFC 4733 2.3.3: R is ignored on receipt; we never set it when sending."""
    event = TelephoneEvent.parse(bytes([11, 0x40 | 0x80 | 7, 0, 160]) + b"\x00\x00\x00\x00")
    assert event == TelephoneEvent(11, end=True, volume=7, duration=160)
    assert event.digit == "#"
    assert bytes(event)[1] & 0x40 == 0


@pytest.mark.parametrize("size", [0, 1, 3])
def test_short_payload_raises_the_parse_error(size: int) -> None:
    """Fewer than four octets cannot hold an event."""
    with pytest.raises(TelephoneEventParseError):
        TelephoneEvent.parse(bytes(size))


def test_event_codes_cover_the_sixteen_dtmf_digits() -> None:
    """RFC 4734: 0-9 are events 0-9, * is 10, # is 11, A-D are 12-15."""
    assert [event_for_digit(d) for d in "0123456789*#ABCD"] == list(range(16))
    assert event_for_digit("d") == 15
    assert TelephoneEvent(16).digit is None  # flash hook is not a digit
    for bad in ("E", "", "12", " "):
        with pytest.raises(InvalidDigitError):
            event_for_digit(bad)


def test_payload_fields_are_range_checked() -> None:
    """Volume is 6 bits and duration 16 bits."""
    with pytest.raises(ValueError):
        TelephoneEvent(1, volume=64)
    with pytest.raises(ValueError):
        TelephoneEvent(1, duration=65536)
    with pytest.raises(ValueError):
        TelephoneEvent(256)


# --- receiver -----------------------------------------------------------------------


def test_one_key_press_with_three_end_packets_is_one_digit() -> None:
    """Start, updates, then the end packet three times: the digit is reported once."""
    receiver = TelephoneEventReceiver()
    got: list[DigitReceived] = []
    for k in range(1, 5):
        got += receiver.receive(event_packet(1000, 7, duration=160 * k), 0.02 * k)
    for r in range(3):
        got += receiver.receive(event_packet(1000, 7, end=True, duration=800), 0.1 + 0.02 * r)
    assert got == [DigitReceived("7", 1000, 800, 0.1)]
    assert receiver.duplicates == 2
    assert receiver.get_timer() is None


def test_retransmitted_event_arriving_late_is_not_reported_again() -> None:
    """A delayed copy of an old update, after the next key started, is ignored."""
    receiver = TelephoneEventReceiver()
    got = receiver.receive(event_packet(1000, 1, end=True, duration=800), 0.1)
    got += receiver.receive(event_packet(2600, 2, duration=160), 0.3)
    got += receiver.receive(event_packet(1000, 1, duration=480), 0.31)
    got += receiver.receive(event_packet(2600, 2, end=True, duration=800), 0.4)
    assert [d.digit for d in got] == ["1", "2"]


def test_same_key_twice_gives_two_digits() -> None:
    """Two presses of 0 are two events with two timestamps, so two digits."""
    receiver = TelephoneEventReceiver()
    got = receiver.receive(event_packet(0, 0, end=True, duration=800), 0.1)
    got += receiver.receive(event_packet(1600, 0, end=True, duration=800), 0.3)
    assert [d.digit for d in got] == ["0", "0"]


def test_lost_end_packets_are_recovered_when_the_next_event_starts() -> None:
    """All end packets of 4 lost: 4 is reported when 5 begins, before 5 itself."""
    receiver = TelephoneEventReceiver()
    got = receiver.receive(event_packet(100, 4, duration=160), 0.02)
    got += receiver.receive(event_packet(100, 4, duration=480), 0.06)
    got += receiver.receive(event_packet(2000, 5, duration=160), 0.3)
    assert got == [DigitReceived("4", 100, 480, 0.3)]
    assert receiver.lost_ends == 1


def test_lost_end_packets_are_recovered_by_the_timer() -> None:
    """The last key's end packets are lost: the timer reports it after end_timeout."""
    receiver = TelephoneEventReceiver(end_timeout=0.25)
    receiver.receive(event_packet(100, 9, duration=320), 1.0)
    assert receiver.get_timer() == pytest.approx(1.25)
    assert receiver.handle_timer(1.2) == []
    got = receiver.handle_timer(1.25)
    assert [d.digit for d in got] == ["9"]
    assert receiver.get_timer() is None and receiver.handle_timer(5.0) == []
    # and a straggling end packet afterwards is not a second digit
    assert receiver.receive(event_packet(100, 9, end=True, duration=800), 1.3) == []


def test_out_of_order_updates_keep_the_longest_duration() -> None:
    """An older update arriving after a newer one does not shrink the duration."""
    receiver = TelephoneEventReceiver()
    receiver.receive(event_packet(0, 3, duration=480), 0.06)
    receiver.receive(event_packet(0, 3, duration=320), 0.061)
    got = receiver.handle_timer(1.0)
    assert got[0].duration == 480


def test_non_digit_events_are_consumed_silently() -> None:
    """Flash (event 16) completes without producing a digit."""
    receiver = TelephoneEventReceiver()
    assert receiver.receive(event_packet(0, 16, end=True, duration=800), 0.1) == []


def test_receiver_raises_parse_error_on_a_bad_payload() -> None:
    """A truncated payload is the caller's to count and drop."""
    receiver = TelephoneEventReceiver()
    with pytest.raises(TelephoneEventParseError):
        receiver.receive(RtpPacket(101, 0, 0, 1, b"\x01"), 0.0)


# --- sender -------------------------------------------------------------------------


def test_sender_schedule_for_one_digit_follows_rfc4733() -> None:
    """100 ms at 20 ms ptime: marker on the first, durations grow, end sent three times."""
    plan = TelephoneEventSender(ptime=0.02, digit_duration=0.1).schedule("5", 8000)
    assert len(plan) == 4 + END_PACKET_REPEATS
    assert {p.timestamp for p in plan} == {8000}
    assert [p.marker for p in plan] == [True] + [False] * 6
    assert [p.event.duration for p in plan] == [160, 320, 480, 640, 800, 800, 800]
    assert [p.event.end for p in plan] == [False] * 4 + [True] * 3
    assert [round(p.offset, 3) for p in plan] == [0.02, 0.04, 0.06, 0.08, 0.1, 0.12, 0.14]
    assert {p.event.event for p in plan} == {5}


def test_sender_spaces_digits_and_advances_timestamps() -> None:
    """Digit two starts after the first digit and the gap; its timestamp says so."""
    plan = TelephoneEventSender(digit_duration=0.1, gap=0.1).schedule("12", 2**32 - 800)
    starts = sorted({p.timestamp for p in plan if p.marker})
    assert len(starts) == 2
    assert (plan[-1].timestamp - plan[0].timestamp) % 2**32 == 1600  # 200 ms later
    assert all(b.offset >= a.offset for a, b in itertools.pairwise(plan))


def test_sender_rejects_a_non_digit() -> None:
    """Only DTMF digits can be planned."""
    with pytest.raises(InvalidDigitError):
        TelephoneEventSender().schedule("12E", 0)


def test_sender_output_through_rtp_is_received_as_the_same_digits() -> None:
    """Every digit, sent over our RTP sender with a lost packet, comes back exactly once."""
    plan = TelephoneEventSender().schedule(DTMF_DIGITS, 1234)
    rtp = RtpSender(ssrc=9, payload_type=101)
    receiver = TelephoneEventReceiver()
    got: list[DigitReceived] = []
    for i, item in enumerate(plan):
        packet = rtp.packet(bytes(item.event), timestamp=item.timestamp, marker=item.marker)
        if i % 5 == 4:
            continue  # lose every fifth packet
        got += receiver.receive(RtpPacket.parse(bytes(packet)), item.offset)
    got += receiver.handle_timer(100.0)
    assert "".join(d.digit for d in got) == DTMF_DIGITS


# --- in-band detection --------------------------------------------------------------


def goertzel_reference(x: npt.NDArray[np.float64], freq: float) -> float:
    """The textbook Goertzel recursion, written out sample by sample."""
    coeff = 2 * np.cos(2 * np.pi * freq / RATE)
    s1 = s2 = 0.0
    for sample in x.tolist():
        s1, s2 = sample + coeff * s1 - s2, s1
    return float(s1 * s1 + s2 * s2 - coeff * s1 * s2)


def detect(samples: npt.NDArray[np.int16], chunk: int = 160) -> str:
    detector = DtmfDetector()
    digits = []
    for start in range(0, len(samples), chunk):
        digits += detector.feed(samples[start : start + chunk])
    return "".join(d.digit for d in digits)


def test_vectorised_powers_equal_the_goertzel_recursion() -> None:
    """Our matrix form computes exactly what the Goertzel filter computes."""
    rng = np.random.default_rng(1)
    block = rng.normal(0, 1000, DTMF_BLOCK)
    freqs = np.array([697.0, 1209.0, 1633.0])
    ours = goertzel_powers(block[np.newaxis, :], freqs, RATE)[0]
    for f, p in zip(freqs.tolist(), ours.tolist(), strict=True):
        assert p == pytest.approx(goertzel_reference(block, f), rel=1e-9)


def test_all_sixteen_digits_are_detected_from_generated_tones() -> None:
    """0-9, *, #, A-D at a phone's level, 100 ms on and 100 ms off, in 20 ms frames."""
    assert detect(dtmf_sequence(DTMF_DIGITS)) == DTMF_DIGITS


def test_digits_survive_moderate_white_noise() -> None:
    """Each digit with white noise 15 dB below it is still detected once."""
    rng = np.random.default_rng(5)
    clean = dtmf_sequence("159*0#D").astype(np.float64)
    tone_power = np.mean(clean[clean != 0] ** 2)
    noise = rng.normal(0, np.sqrt(tone_power / 10**1.5), len(clean))
    noisy = np.clip(clean + noise, -32768, 32767).astype(np.int16)
    assert detect(noisy) == "159*0#D"


def test_low_amplitude_digits_are_detected() -> None:
    """Tones at -30 dBm0 per frequency, far below a phone's level, still register."""
    audio = np.concatenate(
        [
            np.concatenate([dtmf_tone(d, 0.08, level_dbm0=-30.0, twist_db=0.0), silence(800)])
            for d in "2580"
        ]
    )
    assert detect(audio) == "2580"


def test_tones_below_the_energy_floor_are_ignored() -> None:
    """A digit at -60 dBm0 is line noise, not a key press."""
    assert detect(dtmf_tone("5", 0.2, level_dbm0=-60.0)) == ""


def test_twist_limits_are_8_db_normal_and_4_db_reverse() -> None:
    """Row above column by 6 dB passes, by 12 dB fails; column above row by 3 passes, 6 fails."""

    def with_row_above_column(db: float) -> str:
        return detect(dtmf_tone("5", 0.2, level_dbm0=-15.0, twist_db=-db))

    assert with_row_above_column(6.0) == "5"
    assert with_row_above_column(12.0) == ""
    assert with_row_above_column(-3.0) == "5"
    assert with_row_above_column(-6.0) == ""


def test_held_key_is_one_digit_and_short_gap_splits_two() -> None:
    """One second of 8 is one digit; two 70 ms presses 90 ms apart are two digits."""
    assert detect(dtmf_tone("8", 1.0)) == "8"
    assert detect(dtmf_sequence("88", on=0.07, off=0.09)) == "88"


def test_a_too_short_blip_is_not_a_digit() -> None:
    """A 20 ms burst of tone (shorter than two detection blocks) is debounced away."""
    audio = np.concatenate([silence(400), dtmf_tone("3", 0.02), silence(800)])
    assert detect(audio) == ""


@pytest.mark.parametrize("freq", [697.0, 941.0, 1209.0, 1633.0, 1000.0, 450.0])
def test_single_tones_are_rejected(freq: float) -> None:
    """A lone row or column frequency, or a call-progress tone, is not a digit."""
    n = np.arange(RATE // 2)
    audio = (8000 * np.sin(2 * np.pi * freq * n / RATE)).astype(np.int16)
    assert detect(audio) == ""


def test_speech_like_harmonic_signal_is_rejected() -> None:
    """A gliding voiced sound whose harmonics pass through the DTMF bands is not a digit."""
    rng = np.random.default_rng(11)
    t = np.arange(2 * RATE) / RATE
    f0 = 110 + 40 * np.sin(2 * np.pi * 1.3 * t)  # pitch glides 70-150 Hz
    phase = 2 * np.pi * np.cumsum(f0) / RATE
    voice = sum(
        (3000 / k) * (1.5 if 6 <= k <= 12 else 1.0) * np.sin(k * phase) for k in range(1, 30)
    )
    audio = np.clip(voice + rng.normal(0, 200, len(t)), -32768, 32767).astype(np.int16)
    assert detect(audio) == ""


def test_vowel_with_harmonics_on_700_and_1200_hz_is_rejected() -> None:
    """A 100 Hz vowel puts energy on 700 and 1200 Hz, but also on their neighbours."""
    n = np.arange(RATE)
    harmonics = {k: 1500.0 for k in range(1, 20)}
    harmonics[7] = 4000.0
    harmonics[12] = 4000.0
    voice = sum(a * np.sin(2 * np.pi * 100 * k * n / RATE + k) for k, a in harmonics.items())
    audio = np.clip(voice, -32768, 32767).astype(np.int16)
    assert detect(audio) == ""


def test_detection_is_independent_of_frame_size() -> None:
    """Feeding 1, 160 or all samples at once gives the same digits and start sample."""
    audio = dtmf_sequence("47#")
    whole = DtmfDetector().feed(audio)
    assert "".join(d.digit for d in whole) == "47#"
    assert detect(audio, chunk=37) == "47#"
    assert detect(audio, chunk=len(audio)) == "47#"
    starts = [d.timestamp for d in whole]
    assert starts[0] < 2 * DTMF_BLOCK
    assert starts[1] == pytest.approx(1600, abs=2 * DTMF_BLOCK)


def test_digit_frequencies_table_matches_q23() -> None:
    """The keypad maps 1 to 697/1209 Hz and D to 941/1633 Hz."""
    assert DIGIT_FREQUENCIES["1"] == (697.0, 1209.0)
    assert DIGIT_FREQUENCIES["D"] == (941.0, 1633.0)
    assert DIGIT_FREQUENCIES["0"] == (941.0, 1336.0)
    assert len(DIGIT_FREQUENCIES) == 16


def test_white_noise_alone_never_makes_a_digit() -> None:
    """Ten seconds of loud white noise produce no digit."""
    rng = np.random.default_rng(8)
    noise = np.clip(rng.normal(0, 4000, 10 * RATE), -32768, 32767).astype(np.int16)
    assert detect(noise, chunk=len(noise)) == ""


def test_digits_survive_a_g711_round_trip() -> None:
    """Tones that crossed a mu-law and an A-law trunk are still detected."""
    audio = dtmf_sequence("0123456789")
    assert detect(ulaw_to_pcm16(pcm16_to_ulaw(audio))) == "0123456789"
    assert detect(alaw_to_pcm16(pcm16_to_alaw(audio))) == "0123456789"
