"""ITU-T G.711 mu-law and A-law companding as numpy lookup tables.

The tables are computed once at import from the segment/quantisation rules of
ITU-T Recommendation G.711 (11/1988), Tables 1a/1b (A-law) and 2a/2b (mu-law),
working on 16-bit linear samples (the 13-bit A-law and 14-bit mu-law ranges of the
recommendation shifted left by 3 and 2 bits).

* decode tables: 256 entries, code byte -> int16;
* encode tables: 65536 entries, indexed by the int16 sample viewed as uint16;
* transcoding tables: 256 entries, code byte -> code byte.

Every conversion is then a single fancy-indexing operation on a whole frame.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

Int16Array = npt.NDArray[np.int16]
UInt8Array = npt.NDArray[np.uint8]

# G.711 mu-law: bias of 33 in the 14-bit domain (Table 2a), i.e. 132 in 16-bit.
ULAW_BIAS: Final = 0x84
# Largest 16-bit magnitude that still fits segment 7 once the bias is added.
ULAW_CLIP: Final = 32635
# G.711 even-bit inversion applied to A-law code words (Table 1a note).
ALAW_XOR_MASK: Final = 0x55
# Code words for silence: mu-law "positive zero" and A-law smallest positive step.
ULAW_SILENCE: Final = 0xFF
ALAW_SILENCE: Final = 0xD5


def _build_ulaw_decode() -> Int16Array:
    code = np.arange(256, dtype=np.int32)
    inverted = ~code & 0xFF  # mu-law code words are transmitted inverted
    negative = (inverted & 0x80) != 0
    exponent = (inverted >> 4) & 0x07
    mantissa = inverted & 0x0F
    magnitude = (((mantissa << 3) + ULAW_BIAS) << exponent) - ULAW_BIAS
    return np.where(negative, -magnitude, magnitude).astype(np.int16)


def _build_ulaw_encode() -> UInt8Array:
    sample = np.arange(-32768, 32768, dtype=np.int32)
    sign = np.where(sample < 0, 0x00, 0x80)
    magnitude = np.minimum(np.abs(sample), ULAW_CLIP) + ULAW_BIAS
    # Segment (exponent) = position of the highest set bit above bit 7.
    exponent = np.floor(np.log2(magnitude)).astype(np.int32) - 7
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    code = (sign | (exponent << 4) | mantissa) ^ 0x7F
    table = np.empty(65536, dtype=np.uint8)
    table[sample.astype(np.int16).view(np.uint16)] = code.astype(np.uint8)
    return table


def _build_alaw_decode() -> Int16Array:
    code = np.arange(256, dtype=np.int32) ^ ALAW_XOR_MASK
    positive = (code & 0x80) != 0
    exponent = (code >> 4) & 0x07
    mantissa = code & 0x0F
    segment0 = (mantissa << 4) + 8
    higher = ((mantissa << 4) + 0x108) << np.maximum(exponent - 1, 0)
    magnitude = np.where(exponent == 0, segment0, higher)
    return np.where(positive, magnitude, -magnitude).astype(np.int16)


def _build_alaw_encode() -> UInt8Array:
    sample = np.arange(-32768, 32768, dtype=np.int32)
    sign = np.where(sample >= 0, 0x80, 0x00)
    # Negative samples use the one's complement so that -1 maps next to +0.
    magnitude = np.where(sample >= 0, sample, ~sample)
    exponent = np.where(
        magnitude < 256, 0, np.floor(np.log2(np.maximum(magnitude, 1))).astype(np.int32) - 7
    )
    mantissa = np.where(exponent == 0, magnitude >> 4, magnitude >> (exponent + 3)) & 0x0F
    code = (sign | (exponent << 4) | mantissa) ^ ALAW_XOR_MASK
    table = np.empty(65536, dtype=np.uint8)
    table[sample.astype(np.int16).view(np.uint16)] = code.astype(np.uint8)
    return table


ULAW_DECODE: Final[Int16Array] = _build_ulaw_decode()
ULAW_ENCODE: Final[UInt8Array] = _build_ulaw_encode()
ALAW_DECODE: Final[Int16Array] = _build_alaw_decode()
ALAW_ENCODE: Final[UInt8Array] = _build_alaw_encode()
ULAW_TO_ALAW: Final[UInt8Array] = ALAW_ENCODE[ULAW_DECODE.view(np.uint16)]
ALAW_TO_ULAW: Final[UInt8Array] = ULAW_ENCODE[ALAW_DECODE.view(np.uint16)]
for _table in (ULAW_DECODE, ULAW_ENCODE, ALAW_DECODE, ALAW_ENCODE, ULAW_TO_ALAW, ALAW_TO_ULAW):
    _table.flags.writeable = False


def _as_codes(data: bytes | bytearray | memoryview | UInt8Array) -> UInt8Array:
    if isinstance(data, np.ndarray):
        return data.astype(np.uint8, copy=False)
    return np.frombuffer(data, dtype=np.uint8)


def _as_pcm16(samples: Int16Array) -> npt.NDArray[np.uint16]:
    return np.asarray(samples, dtype=np.int16).view(np.uint16)


def ulaw_to_pcm16(data: bytes | bytearray | memoryview | UInt8Array) -> Int16Array:
    """Decode mu-law code bytes to 16-bit linear samples."""
    return ULAW_DECODE[_as_codes(data)]


def pcm16_to_ulaw(samples: Int16Array) -> UInt8Array:
    """Encode 16-bit linear samples to mu-law code bytes (``.tobytes()`` for the wire)."""
    return ULAW_ENCODE[_as_pcm16(samples)]


def alaw_to_pcm16(data: bytes | bytearray | memoryview | UInt8Array) -> Int16Array:
    """Decode A-law code bytes to 16-bit linear samples."""
    return ALAW_DECODE[_as_codes(data)]


def pcm16_to_alaw(samples: Int16Array) -> UInt8Array:
    """Encode 16-bit linear samples to A-law code bytes."""
    return ALAW_ENCODE[_as_pcm16(samples)]


def ulaw_to_alaw(data: bytes | bytearray | memoryview | UInt8Array) -> UInt8Array:
    """Transcode mu-law to A-law through the linear domain, in one table lookup."""
    return ULAW_TO_ALAW[_as_codes(data)]


def alaw_to_ulaw(data: bytes | bytearray | memoryview | UInt8Array) -> UInt8Array:
    """Transcode A-law to mu-law through the linear domain, in one table lookup."""
    return ALAW_TO_ULAW[_as_codes(data)]
