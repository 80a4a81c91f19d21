"""G.711 companding: spec vectors, table shapes and round-trip properties."""

from __future__ import annotations

import numpy as np

from callcenter.media import g711

ALL_CODES = np.arange(256, dtype=np.uint8)
ALL_SAMPLES = np.arange(-32768, 32768, dtype=np.int32).astype(np.int16)


def test_ulaw_decodes_the_g711_reference_code_words() -> None:
    """Known mu-law vectors: 0xFF and 0x7F are +0/-0, 0x00 and 0x80 the extremes."""
    decoded = g711.ulaw_to_pcm16(bytes([0xFF, 0x7F, 0x00, 0x80]))
    assert decoded.tolist() == [0, 0, -32124, 32124]


def test_alaw_decodes_the_g711_reference_code_words() -> None:
    """Known A-law vectors: 0xD5/0x55 are the smallest steps, 0xAA/0x2A the extremes."""
    decoded = g711.alaw_to_pcm16(bytes([0xD5, 0x55, 0xAA, 0x2A]))
    assert decoded.tolist() == [8, -8, 32256, -32256]


def test_ulaw_segment_boundaries_follow_the_recommendation() -> None:
    """Each mu-law segment doubles the step: 8 in segment 0, 16 in segment 1."""
    positive = g711.ULAW_DECODE[0xFF:0x7F:-1][:18].tolist()  # codes 0xFF down to 0xEE
    assert positive[:3] == [0, 8, 16]
    # Segment 0 steps by 8, segment 1 by 16: between their last/first midpoints, 4 + 8.
    assert positive[15] == 120 and positive[16] == 132
    assert positive[17] - positive[16] == 16


def test_alaw_segment_boundaries_follow_the_recommendation() -> None:
    """A-law segments 0 and 1 share a 16-unit step; segment 2 steps by 32."""
    codes = [c ^ 0x55 for c in range(0x80, 0xB0)]
    values = g711.ALAW_DECODE[codes].tolist()
    assert values[:3] == [8, 24, 40]
    assert values[16] - values[15] == 16
    # Segment 1 steps by 16, segment 2 by 32: between their midpoints, 8 + 16.
    assert values[31] == 504 and values[32] == 528
    assert values[33] - values[32] == 32


def test_tables_have_the_documented_shapes_and_are_read_only() -> None:
    """Decode tables have 256 entries, encode tables 65536; none can be modified."""
    assert g711.ULAW_DECODE.shape == (256,) and g711.ULAW_DECODE.dtype == np.int16
    assert g711.ALAW_DECODE.shape == (256,) and g711.ALAW_DECODE.dtype == np.int16
    assert g711.ULAW_ENCODE.shape == (65536,) and g711.ULAW_ENCODE.dtype == np.uint8
    assert g711.ALAW_ENCODE.shape == (65536,) and g711.ALAW_ENCODE.dtype == np.uint8
    for table in (g711.ULAW_DECODE, g711.ALAW_ENCODE, g711.ULAW_TO_ALAW):
        assert not table.flags.writeable


def test_every_ulaw_code_round_trips_except_negative_zero() -> None:
    """encode(decode(c)) == c for all 256 mu-law codes, with 0x7F (-0) becoming 0xFF."""
    again = g711.pcm16_to_ulaw(g711.ulaw_to_pcm16(ALL_CODES))
    expected = ALL_CODES.copy()
    expected[0x7F] = 0xFF
    assert np.array_equal(again, expected)


def test_every_alaw_code_round_trips() -> None:
    """A-law has no negative zero, so all 256 codes survive decode then encode."""
    again = g711.pcm16_to_alaw(g711.alaw_to_pcm16(ALL_CODES))
    assert np.array_equal(again, ALL_CODES)


def test_quantisation_error_is_at_most_half_a_step() -> None:
    """Every int16 sample decodes back to the centre of its own quantisation interval."""
    samples = ALL_SAMPLES.astype(np.int32)
    for encode, decode, clip in (
        (g711.pcm16_to_ulaw, g711.ulaw_to_pcm16, 32124),
        (g711.pcm16_to_alaw, g711.alaw_to_pcm16, 32256),
    ):
        back = decode(encode(ALL_SAMPLES)).astype(np.int32)
        inside = np.abs(samples) <= clip
        error = np.abs(back - samples)[inside]
        # the largest step is 1024 (mu-law) / 1024 (A-law) in the 16-bit domain
        step = np.where(np.abs(samples[inside]) < 4096, 256, 1024)
        assert np.all(error <= step // 2 + 8)
        assert np.all(np.abs(back[~inside]) == clip)


def test_encoding_is_monotonic_in_the_decoded_domain() -> None:
    """Louder input never decodes quieter: decode(encode(x)) is non-decreasing in x."""
    for encode, decode in (
        (g711.pcm16_to_ulaw, g711.ulaw_to_pcm16),
        (g711.pcm16_to_alaw, g711.alaw_to_pcm16),
    ):
        back = decode(encode(ALL_SAMPLES)).astype(np.int32)
        assert np.all(np.diff(back) >= 0)


def test_silence_encodes_to_the_idle_code_words() -> None:
    """A zero sample is mu-law 0xFF and A-law 0xD5, what a silent trunk carries."""
    zeros = np.zeros(160, dtype=np.int16)
    assert set(g711.pcm16_to_ulaw(zeros).tolist()) == {g711.ULAW_SILENCE}
    assert set(g711.pcm16_to_alaw(zeros).tolist()) == {g711.ALAW_SILENCE}


def test_extreme_samples_saturate_instead_of_wrapping() -> None:
    """-32768 and 32767 encode to the largest negative and positive code words."""
    extremes = np.array([-32768, 32767], dtype=np.int16)
    assert g711.pcm16_to_ulaw(extremes).tolist() == [0x00, 0x80]
    assert g711.pcm16_to_alaw(extremes).tolist() == [0x2A, 0xAA]


def test_transcoding_tables_match_decode_then_encode() -> None:
    """ulaw_to_alaw and alaw_to_ulaw are one lookup equal to going through linear."""
    assert np.array_equal(
        g711.ulaw_to_alaw(ALL_CODES), g711.pcm16_to_alaw(g711.ulaw_to_pcm16(ALL_CODES))
    )
    assert np.array_equal(
        g711.alaw_to_ulaw(ALL_CODES), g711.pcm16_to_ulaw(g711.alaw_to_pcm16(ALL_CODES))
    )


def test_transcoding_there_and_back_moves_a_sample_by_at_most_one_step() -> None:
    """mu-law -> A-law -> mu-law stays within one quantisation step of the original."""
    original = g711.ulaw_to_pcm16(ALL_CODES).astype(np.int32)
    back = g711.ulaw_to_pcm16(g711.alaw_to_ulaw(g711.ulaw_to_alaw(ALL_CODES))).astype(np.int32)
    assert np.all(np.abs(back - original) <= np.maximum(np.abs(original) // 16, 16))


def test_a_whole_frame_converts_in_one_call_from_bytes() -> None:
    """A 20 ms RTP payload (160 bytes) decodes to 160 int16 and re-encodes to the same bytes."""
    rng = np.random.default_rng(7)
    payload = rng.integers(0, 256, 160, dtype=np.uint8)
    payload[payload == 0x7F] = 0xFF
    pcm = g711.ulaw_to_pcm16(payload.tobytes())
    assert pcm.dtype == np.int16 and pcm.shape == (160,)
    assert g711.pcm16_to_ulaw(pcm).tobytes() == payload.tobytes()


def test_sine_survives_companding_with_good_signal_to_noise() -> None:
    """A -10 dBFS 1 kHz tone keeps better than 30 dB SNR through either law."""
    n = np.arange(8000)
    tone = (10000 * np.sin(2 * np.pi * 1000 * n / 8000 + 0.3)).astype(np.int16)
    for encode, decode in (
        (g711.pcm16_to_ulaw, g711.ulaw_to_pcm16),
        (g711.pcm16_to_alaw, g711.alaw_to_pcm16),
    ):
        noise = decode(encode(tone)).astype(np.float64) - tone
        snr = 10 * np.log10(np.mean(tone.astype(np.float64) ** 2) / np.mean(noise**2))
        assert snr > 30
