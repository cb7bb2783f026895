"""Hash parsing, popcount and the pigeonhole search for near-duplicate pairs."""

from __future__ import annotations

import numpy as np
import pytest

from datasteward.checks import duplicates


def test_popcount_of_known_words():
    x = np.array([0, 1, 0xFF, 2**64 - 1], dtype=np.uint64)
    assert duplicates.popcount(x).tolist() == [0, 1, 8, 64]
    assert duplicates.popcount(np.array([[1, 3]], dtype=np.uint64)).tolist() == [3]


def test_hex_round_trip_and_invalid_hashes():
    words, valid = duplicates.hex_to_words(["00000000000000ff", "ffffffffffffffff", None, "xyz", "00ff"])
    assert valid.tolist() == [True, True, False, False, False]
    assert words[:2, 0].tolist() == [255, 2**64 - 1]


def _brute_force(words: np.ndarray, max_fraction: float) -> set[tuple[int, int]]:
    n, w = words.shape
    out = set()
    for i in range(n):
        for j in range(i + 1, n):
            if duplicates.popcount(words[i] ^ words[j]).sum() / (64 * w) <= max_fraction:
                out.add((i, j))
    return out


@pytest.mark.parametrize("n_words, max_fraction", [(1, 8 / 64), (1, 3 / 64), (4, 8 / 64)], ids=["64bit-8", "64bit-3", "256bit-8"])
def test_banding_finds_exactly_the_close_pairs(rng, n_words, max_fraction):
    """Invariant: for 64-bit hashes the pigeonhole search equals brute force; planted copies are always found."""
    base = rng.integers(0, 2**63, (60, n_words), dtype=np.int64).astype(np.uint64)
    copies = base[:20].copy()
    flips = rng.integers(0, 64, (20, 3))
    for k, bits in enumerate(flips):  # flip up to three bits of the first word
        for b in bits:
            copies[k, 0] ^= np.uint64(1) << np.uint64(b)
    words = np.concatenate([base, copies])
    i, j, frac = duplicates.near_pairs(words, max_fraction=max_fraction)
    found = set(zip(i.tolist(), j.tolist()))
    if n_words == 1:
        assert found == _brute_force(words, max_fraction)
    assert {(k, 60 + k) for k in range(20)} <= found or max_fraction < 3 / 64
    assert np.all(frac <= max_fraction + 1e-12)


def test_no_pairs_in_tiny_inputs():
    i, j, frac = duplicates.near_pairs(np.zeros((1, 1), dtype=np.uint64), max_fraction=0.1)
    assert len(i) == len(j) == len(frac) == 0
