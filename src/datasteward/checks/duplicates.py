"""File-level checks (undecodable files, missing metadata) and duplicate finding without comparing all pairs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from datasteward.checks.registry import CheckSpec

SPECS = (
    CheckSpec("corrupt_file", "any", "data_ops", "high",
              "The file is missing, empty or cannot be decoded as media",
              "above", 0.5, "flag"),
    CheckSpec("missing_metadata", "any", "data_ops", "medium",
              "Required metadata fields left empty (language, batch, vendor; speaker for audio)",
              "above", 0.5, "fields"),
    CheckSpec("exact_duplicate", "any", "data_ops", "high",
              "Byte-identical to an earlier item (the first of each group is kept and not flagged)",
              "above", 0.5, "flag", level="dataset"),
    CheckSpec("near_duplicate", "any", "data_ops", "medium",
              "Share of perceptual-hash bits that differ from the nearest earlier item with different bytes",
              "below", 0.125, "ratio", level="dataset"),
    CheckSpec("duplicate_across_splits", "any", "ml", "high",
              "Exact or near copy of an earlier item that sits in a different split (train/test leakage)",
              "above", 0.5, "flag", level="dataset"),
)

WORD_BITS = 64


def hex_to_words(hashes) -> tuple[np.ndarray, np.ndarray]:
    """Hex hashes (16 hex digits per 64 bits) to rows of unsigned 64-bit words.

    Parameters
    ----------
    hashes : sequence of str
        Hashes of one kind; a missing, malformed or differently sized one is invalid.

    Returns
    -------
    words : np.ndarray
        ``uint64``, shape ``(n, w)`` with ``w`` words per hash (the most common size); zeros where invalid.
    valid : np.ndarray
        Boolean, shape ``(n,)``.
    """
    hashes = list(hashes)
    sizes = pd.Series([len(h) for h in hashes if isinstance(h, str) and h and len(h) % 16 == 0])
    n_hex = int(sizes.mode().iloc[0]) if len(sizes) else 16
    words = np.zeros((len(hashes), n_hex // 16), dtype=np.uint64)
    valid = np.zeros(len(hashes), dtype=bool)
    for i, h in enumerate(hashes):
        if isinstance(h, str) and len(h) == n_hex:
            try:
                words[i] = np.frombuffer(bytes.fromhex(h), dtype=">u8")
                valid[i] = True
            except ValueError:
                pass
    return words, valid


def popcount(x: np.ndarray) -> np.ndarray:
    """Number of set bits of each ``uint64``, summed over the last axis when ``x`` is 2-D."""
    x = np.ascontiguousarray(x, dtype=np.uint64)
    count = _BYTE_POPCOUNT[x.view(np.uint8)].reshape(*x.shape, 8).sum(axis=-1)
    return count.sum(axis=-1) if x.ndim == 2 else count


_BYTE_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.int64)


def near_pairs(words: np.ndarray, *, max_fraction: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of hashes whose bits differ in at most ``max_fraction`` of places, without comparing all pairs.

    Candidates come from pigeonhole banding of the first 64-bit word: with
    ``r = floor(max_fraction * 64)``, two words that differ in at most ``r``
    bits agree exactly on at least one of ``r + 1`` bands, so grouping equal
    band values (a sort per band) finds every such pair. Only candidates get
    their distance over all words computed. For 64-bit hashes the search is
    exact; for longer ones the first word is a coarse hash of its own (see
    :func:`datasteward.checks.audio.audio_fingerprint`) and the search is a
    locality-sensitive filter.

    Parameters
    ----------
    words : np.ndarray
        ``uint64``, shape ``(n, w)`` (or ``(n,)`` for 64-bit hashes).
    max_fraction : float
        Largest share of differing bits to report, 0-1.

    Returns
    -------
    i, j : np.ndarray
        Row indices with ``i < j``, each pair once.
    fraction : np.ndarray
        Share of differing bits of each pair.
    """
    words = np.asarray(words, dtype=np.uint64)
    if words.ndim == 1:
        words = words[:, None]
    n, w = words.shape
    empty = np.zeros(0, dtype=np.int64)
    if n < 2:
        return empty, empty, np.zeros(0)
    radius = int(np.floor(max_fraction * WORD_BITS + 1e-9))
    edges = np.linspace(0, WORD_BITS, radius + 2).round().astype(int)
    first = words[:, 0]
    firsts, seconds = [], []
    for lo, hi in zip(edges[:-1], edges[1:]):
        key = (first >> np.uint64(lo)) & np.uint64((1 << (hi - lo)) - 1)
        order = np.argsort(key, kind="stable")
        sorted_key = key[order]
        starts = np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1]])
        sizes = np.diff(np.r_[starts, n])
        for start, size in zip(starts[sizes > 1], sizes[sizes > 1]):
            members = np.sort(order[start:start + size])
            a, b = np.triu_indices(size, k=1)
            firsts.append(members[a])
            seconds.append(members[b])
    if not firsts:
        return empty, empty, np.zeros(0)
    pairs = np.unique(np.stack([np.concatenate(firsts), np.concatenate(seconds)], axis=1), axis=0)
    fraction = popcount(words[pairs[:, 0]] ^ words[pairs[:, 1]]) / (WORD_BITS * w)
    close = fraction <= max_fraction + 1e-12
    return pairs[close, 0], pairs[close, 1], fraction[close]
