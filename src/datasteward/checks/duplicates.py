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


def near_pairs(words: np.ndarray, *, max_fraction: float, recall: float = 0.995, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of hashes whose bits differ in at most ``max_fraction`` of places, without comparing all pairs.

    Bit-sampling locality-sensitive hashing on the first 64-bit word: each of
    ``L`` tables keys every hash by ``k`` randomly chosen bits, with ``k`` about
    ``log2(n)`` so that buckets stay small and the candidates grow linearly
    with ``n``. A pair at the largest allowed distance ``r`` shares a table key
    with probability ``1 - (1 - (1 - r/64)**k)**L``; ``L`` is chosen so that
    this is at least ``recall``, and closer pairs are found more surely still.
    Only candidates get their distance over all words computed. For longer
    hashes the first word is a coarse hash of its own (see
    :func:`datasteward.checks.audio.audio_fingerprint`). Deterministic for a
    given ``seed``.

    Parameters
    ----------
    words : np.ndarray
        ``uint64``, shape ``(n, w)`` (or ``(n,)`` for 64-bit hashes).
    max_fraction : float
        Largest share of differing bits to report, 0-1.
    recall : float
        Smallest probability of finding a pair at exactly that distance.

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
    k = int(min(WORD_BITS - radius, max(8, np.ceil(np.log2(n)) + 1)))
    p_table = (1.0 - radius / WORD_BITS) ** k
    tables = 1 if p_table >= 1 else int(np.ceil(np.log(1 - recall) / np.log(1 - p_table)))
    bits = ((words[:, :1] >> np.arange(WORD_BITS, dtype=np.uint64)) & np.uint64(1)).astype(np.uint8)
    rng = np.random.default_rng(seed)
    firsts, seconds = [], []
    packed = np.zeros((n, 8), dtype=np.uint8)
    for _ in range(tables):
        chosen = rng.choice(WORD_BITS, size=k, replace=False)
        key_bytes = np.packbits(bits[:, chosen], axis=1)
        packed[:, : key_bytes.shape[1]] = key_bytes
        key = packed.view(np.uint64).ravel()
        i, j = _same_key_pairs(key)
        firsts.append(i)
        seconds.append(j)
    codes = np.unique(np.concatenate(firsts) * n + np.concatenate(seconds))  # one code per pair
    if len(codes) == 0:
        return empty, empty, np.zeros(0)
    i, j = codes // n, codes % n
    fraction = popcount(words[i] ^ words[j]) / (WORD_BITS * w)
    close = fraction <= max_fraction + 1e-12
    return i[close], j[close], fraction[close]


def _same_key_pairs(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All index pairs ``i < j`` with equal ``key``, vectorised over buckets."""
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    starts = np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1]])
    sizes = np.diff(np.r_[starts, len(key)])
    firsts, seconds = [], []
    for size in np.unique(sizes[sizes > 1]):
        group_starts = starts[sizes == size]
        members = order[group_starts[:, None] + np.arange(size)]
        a, b = np.triu_indices(size, k=1)
        x, y = members[:, a].ravel(), members[:, b].ravel()
        firsts.append(np.minimum(x, y))
        seconds.append(np.maximum(x, y))
    if not firsts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(firsts), np.concatenate(seconds)
