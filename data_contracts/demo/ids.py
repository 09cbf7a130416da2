"""Pseudonymous ids: a keyed bijection of a structured counter, written in hex.

A dossier counter is ``month << 33 | running number in the month`` (40 bits) and a
person counter ``month << 41 | running number`` (48 bits). A keyed, invertible mix
on exactly that many bits turns them into ``D`` + 10 hex and ``P`` + 12 hex: two
different counters can never give the same id, whatever the scale, and nothing in
an id reveals the month or the order.
"""

from __future__ import annotations

import numpy as np
import polars as pl

DOSSIER_BITS, PERSON_BITS = 40, 48
_MONTH_SHIFT_DOSSIER, _MONTH_SHIFT_PERSON = 33, 41
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def dossier_counter(month: int, running: np.ndarray) -> np.ndarray:
    return (np.uint64(month) << np.uint64(_MONTH_SHIFT_DOSSIER)) | running.astype(np.uint64)


def person_counter(month: int, running: np.ndarray) -> np.ndarray:
    return (np.uint64(month) << np.uint64(_MONTH_SHIFT_PERSON)) | running.astype(np.uint64)


def _keys(seed: int, bits: int) -> list[np.uint64]:
    state = np.random.SeedSequence([seed, 0x1D5, bits]).generate_state(6, dtype=np.uint64)
    return [np.uint64(int(k)) for k in state]


def mix(counter: np.ndarray, seed: int, bits: int) -> np.ndarray:
    """A keyed bijection on ``bits``-bit integers (xor, odd multiply, xorshift)."""
    mask = np.uint64((1 << bits) - 1)
    k = _keys(seed, bits)
    x = counter.astype(np.uint64) & mask
    half = np.uint64(bits // 2)
    with np.errstate(over="ignore"):
        for round_ in range(3):
            x = (x ^ (k[round_] & mask)) & mask
            x = (x * (k[round_ + 3] | np.uint64(1))) & mask  # odd multiplier: invertible
            x = x ^ (x >> half)
    return x


def hex_ids(prefix: str, value: np.ndarray, digits: int) -> pl.Series:
    shifts = (np.arange(digits - 1, -1, -1, dtype=np.uint64) * np.uint64(4))[None, :]
    nibbles = ((value[:, None] >> shifts) & np.uint64(0xF)).astype(np.intp)
    out = np.empty((len(value), digits + 1), dtype=np.uint8)
    out[:, 0] = ord(prefix)
    out[:, 1:] = _HEX[nibbles]
    return pl.Series(out.view(f"S{digits + 1}").ravel().astype(f"U{digits + 1}"), dtype=pl.String)


def dossier_ids(counter: np.ndarray, seed: int) -> pl.Series:
    return hex_ids("D", mix(counter, seed, DOSSIER_BITS), DOSSIER_BITS // 4)


def person_ids(counter: np.ndarray, seed: int) -> pl.Series:
    return hex_ids("P", mix(counter, seed, PERSON_BITS), PERSON_BITS // 4)
