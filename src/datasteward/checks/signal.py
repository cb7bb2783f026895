"""Phase 2 of the signal checks: per-item scores from the whole metric table."""

from __future__ import annotations

import numpy as np
import pandas as pd

from datasteward.checks import audio, duplicates, image, text
from datasteward.checks.findings import SCORE_COLUMNS

SPECS = (*duplicates.SPECS, *image.SPECS, *audio.SPECS, *text.SPECS)
_SPEC = {spec.name: spec for spec in SPECS}

MAD_TO_SD = 1.4826          # MAD of a normal distribution times this is its standard deviation
MIN_GROUP = 20              # items a group needs for its own median and spread
MIN_MEDIAN = 5              # ... for its own median (the spread is then pooled over groups)
REQUIRED_SHARE = 0.5        # a metadata field is required when at least this share of items fills it
METADATA_FIELDS = {"image": ("language", "batch", "vendor"), "audio": ("language", "batch", "vendor", "speaker")}
CUT_OFF_DROP_DB = 10.0      # the last 30 ms within this of the speech level ...
CUT_OFF_ABOVE_NOISE_DB = 10.0  # ... and this far above the noise: the clip stops mid-speech
CUT_OFF_TRAIL_SHARE = 0.25  # or its trailing silence is under this share of its speaker's usual
CUT_OFF_EVIDENCE = 2.5      # robust SDs added to the shortness of a clip that ends mid-speech
# Robust spreads below these are treated as these: identical sizes or durations
# would otherwise make a 1% difference an outlier.
SIZE_SCALE = 0.25           # natural-log units, ~28%
DURATION_SCALE = 0.15
RATE_SCALE = 0.10


def robust_z(values: pd.Series, groups: pd.Series | None = None, *, min_group: int = MIN_GROUP,
             min_median: int = MIN_MEDIAN, min_scale: float = 0.0) -> pd.Series:
    """Robust z-score of each value within its group: ``(x - median) / (1.4826 MAD)``.

    A group with at least ``min_group`` values uses its own median and MAD; one
    with ``min_median`` or more uses its own median and the spread pooled over
    all groups (the median absolute deviation of every value from its own
    group's median); a smaller group gets NaN. The spread is at least ``min_scale``.

    Parameters
    ----------
    values : Series
        Numbers (NaN is ignored and stays NaN).
    groups : Series, optional
        Group key per value, same index; None means one group.

    Returns
    -------
    Series
        Same index as ``values``.
    """
    x = pd.to_numeric(values, errors="coerce").astype(float)
    key = pd.Series(0, index=x.index) if groups is None else groups.reindex(x.index).astype(object).fillna("<none>")
    ok = x.notna()
    g = x[ok].groupby(key[ok])
    count = key.map(g.size()).fillna(0)
    median = key.map(g.median())
    dev = (x - median).abs()
    mad = key.map(dev[ok].groupby(key[ok]).median())
    pooled = float(dev[ok & (count >= min_median)].median()) if (ok & (count >= min_median)).any() else np.nan
    scale = (mad.where(count >= min_group, pooled) * MAD_TO_SD).clip(lower=min_scale)
    z = (x - median) / scale.replace(0.0, np.nan)
    return z.where(count >= min_median)


def _blank(series: pd.Series) -> pd.Series:
    """True where a metadata cell is missing or only whitespace."""
    return series.isna() | series.astype(str).str.strip().isin(["", "nan", "None", "<NA>"])


def _col(table: pd.DataFrame, name: str, default=np.nan) -> pd.Series:
    return table[name] if name in table.columns else pd.Series(default, index=table.index)


def _long(table: pd.DataFrame, check: str, score: pd.Series, detail: pd.Series | str = "") -> pd.DataFrame:
    score = pd.to_numeric(score, errors="coerce").astype(float)
    keep = score.notna()
    detail = detail if isinstance(detail, pd.Series) else pd.Series(detail, index=score.index)
    return pd.DataFrame({"id": table.loc[keep[keep].index, "id"].astype(str).to_numpy(), "check": check,
                         "score": score[keep].to_numpy(), "detail": detail[keep].fillna("").astype(str).to_numpy()})


def _fmt(values: pd.Series, digits: int) -> pd.Series:
    return values.round(digits).astype(str)


# --------------------------------------------------------------------------- file-level
def file_scores(table: pd.DataFrame) -> list[pd.DataFrame]:
    """``corrupt_file`` and ``missing_metadata`` for every row."""
    error = _col(table, "media_error", None)
    corrupt = (~_blank(error)).astype(float)
    out = [_long(table, "corrupt_file", corrupt, error.where(corrupt > 0, "").fillna("").astype(str).str.slice(0, 120))]
    missing_count = pd.Series(0.0, index=table.index)
    missing_names = pd.Series("", index=table.index)
    modality = _col(table, "modality", "")
    for mod, fields in METADATA_FIELDS.items():
        rows = modality == mod
        if not rows.any():
            continue
        for field in fields:
            blank = _blank(_col(table, field, None))
            # A field nobody fills is not part of this dataset's contract.
            if (~blank[rows]).mean() < REQUIRED_SHARE:
                continue
            hit = rows & blank
            missing_count += hit.astype(float)
            missing_names = missing_names.where(~hit, missing_names + np.where(missing_names == "", "", ", ") + field)
    detail = ("missing: " + missing_names).where(missing_count > 0, "")
    out.append(_long(table, "missing_metadata", missing_count, detail))
    return out


# --------------------------------------------------------------------------- duplicates
def _decoded(table: pd.DataFrame) -> pd.Series:
    return _blank(_col(table, "media_error", None))


def duplicate_scores(table: pd.DataFrame) -> list[pd.DataFrame]:
    """``exact_duplicate``, ``near_duplicate`` and ``duplicate_across_splits``.

    The first item of each group in table order (import order) is the original
    and is not flagged; every later member is. Undecodable files are left out:
    empty or junk files share bytes without being copies of each other's media.
    """
    ids = table["id"].astype(str)
    n = len(table)
    decoded = _decoded(table)
    chash = _col(table, "content_hash", None)
    has_hash = decoded & ~_blank(chash)
    pos = pd.Series(np.arange(n), index=table.index)
    first_pos = pos[has_hash].groupby(chash[has_hash]).transform("min")
    exact = pd.Series(np.nan, index=table.index)
    exact[has_hash] = (first_pos != pos[has_hash]).astype(float)
    exact_of = pd.Series("", index=table.index)
    exact_of[has_hash] = ids.to_numpy()[first_pos.to_numpy()]
    exact_detail = ("same bytes as " + exact_of).where(exact > 0, "")
    out = [_long(table, "exact_duplicate", exact, exact_detail)]

    # Near duplicates, per modality and hash kind; pairs with equal bytes are exact, not near.
    near_threshold = _SPEC["near_duplicate"].default_threshold
    near = pd.Series(np.nan, index=table.index)
    near_of = pd.Series("", index=table.index)
    edges_i, edges_j = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)]
    modality = _col(table, "modality", "")
    for mod, column in (("image", "phash"), ("audio", "fingerprint")):
        rows = np.flatnonzero((modality == mod).to_numpy() & decoded.to_numpy())
        if len(rows) < 2 or column not in table.columns:
            continue
        words, valid = duplicates.hex_to_words(table[column].to_numpy()[rows])
        rows, words = rows[valid], words[valid]
        i, j, frac = duplicates.near_pairs(words, max_fraction=near_threshold)
        gi, gj = rows[i], rows[j]
        same = chash.to_numpy()[gi] == chash.to_numpy()[gj]
        gi, gj, frac = gi[~same], gj[~same], frac[~same]
        if len(gi):
            pairs = pd.DataFrame({"later": gj, "earlier": gi, "frac": frac}).sort_values(["later", "frac", "earlier"])
            best = pairs.drop_duplicates("later")
            near.iloc[best["later"].to_numpy()] = best["frac"].to_numpy()
            near_of.iloc[best["later"].to_numpy()] = ids.to_numpy()[best["earlier"].to_numpy()]
            close = frac < near_threshold
            edges_i.append(gi[close])
            edges_j.append(gj[close])
    near_detail = ("like " + near_of + " (" + (near * 100).round(1).astype(str) + "% of hash bits differ)").where(near.notna(), "")
    out.append(_long(table, "near_duplicate", near, near_detail))

    # Leakage: any member of an exact or near group whose split differs from the group's first item.
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    hashed = np.flatnonzero(has_hash.to_numpy())
    exact_first = first_pos.reindex(table.index).to_numpy()
    ei = np.concatenate([exact_first[hashed].astype(np.int64)] + edges_i)
    ej = np.concatenate([hashed.astype(np.int64)] + edges_j)
    graph = coo_matrix((np.ones(len(ei)), (ei, ej)), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    comp = pd.Series(label, index=table.index)
    size = comp.map(comp.value_counts())
    root = pos.groupby(comp).transform("min")
    split = _col(table, "split", None).astype(object)
    split_blank = _blank(split)
    root_split = pd.Series(split.to_numpy()[root.to_numpy()], index=table.index)
    in_group = (size > 1) & decoded
    leak = pd.Series(np.nan, index=table.index)
    judged = decoded & ~split_blank
    leak[judged] = 0.0
    crossing = in_group & judged & ~_blank(root_split) & (split != root_split) & (root != pos)
    leak[crossing] = 1.0
    leak_detail = (split.astype(str) + " copy of " + pd.Series(ids.to_numpy()[root.to_numpy()], index=table.index)
                   + " (" + root_split.astype(str) + ")").where(crossing, "")
    out.append(_long(table, "duplicate_across_splits", leak, leak_detail))
    return out


# --------------------------------------------------------------------------- images
def image_scores(table: pd.DataFrame) -> list[pd.DataFrame]:
    """Exposure, blur, information, size, aspect and colour scores of decoded images."""
    rows = (_col(table, "modality", "") == "image") & _decoded(table)
    t = table[rows]
    if t.empty:
        return []
    mean = _col(t, "brightness_mean")
    out = [_long(t, "dark", mean, "mean luminance " + _fmt(mean, 3)),
           _long(t, "overexposed", np.fmax(mean / image.OVEREXPOSED_MEAN, _col(t, "white_fraction") / image.OVEREXPOSED_BLOWN),
                 "mean luminance " + _fmt(mean, 3) + ", " + _fmt(_col(t, "white_fraction") * 100, 1) + "% blown to white")]
    sharp_z = robust_z(_col(t, "sharpness"))
    out.append(_long(t, "blurry", sharp_z, "edge sharpness " + _fmt(_col(t, "sharpness"), 2)
                     + " vs dataset median " + _fmt(pd.Series(_col(t, "sharpness").median(), index=t.index), 2)))
    contrast = _col(t, "contrast")
    out.append(_long(t, "low_information", contrast, "coarse contrast " + _fmt(contrast, 3)
                     + ", entropy " + _fmt(_col(t, "entropy"), 1) + " bits"))
    width = pd.to_numeric(_col(t, "width"), errors="coerce")
    height = pd.to_numeric(_col(t, "height"), errors="coerce")
    sized = (width > 0) & (height > 0)
    long_side = np.log(np.maximum(width, height).where(sized))
    size_z = robust_z(long_side, min_scale=SIZE_SCALE).abs()
    typical = pd.Series(np.exp(long_side.median()), index=t.index) if sized.any() else pd.Series(np.nan, index=t.index)
    dims = width.astype("Int64").astype(str) + "x" + height.astype("Int64").astype(str)
    out.append(_long(t, "odd_size", size_z, dims + " vs typical long side " + typical.round(0).astype(str)))
    elongation = np.abs(np.log(width.where(sized) / height.where(sized)))
    out.append(_long(t, "odd_aspect_ratio", robust_z(elongation, min_scale=SIZE_SCALE),
                     dims + " (" + _fmt(np.exp(elongation), 2) + ":1)"))
    sat = _col(t, "saturation_p99")
    out.append(_long(t, "grayscale", sat, "saturation p99 " + _fmt(sat, 3)))
    return out


# --------------------------------------------------------------------------- audio
def _speaker_or_language(t: pd.DataFrame) -> pd.Series:
    """Reference group per clip: its speaker when the speaker has enough clips, else its language."""
    language = _col(t, "language", None).astype(object).where(~_blank(_col(t, "language", None)), "<none>")
    speaker = _col(t, "speaker", None).astype(object)
    key = language.astype(str) + "|" + speaker.astype(str)
    big = ~_blank(speaker) & (key.map(key.value_counts()) >= MIN_GROUP)
    return key.where(big, language.astype(str))


def audio_scores(table: pd.DataFrame) -> list[pd.DataFrame]:
    """Clipping, silence, noise, level, duration, sample-rate and channel scores of decoded clips."""
    rows = (_col(table, "modality", "") == "audio") & _decoded(table)
    t = table[rows]
    if t.empty:
        return []
    clip = _col(t, "clip_fraction")
    out = [_long(t, "clipping", clip, _fmt(clip * 100, 2) + "% of samples at full scale")]
    lead, trail = _col(t, "lead_silence_s"), _col(t, "trail_silence_s")
    out.append(_long(t, "silence", np.maximum(lead, trail), "leading " + _fmt(lead, 2) + " s, trailing "
                     + _fmt(trail, 2) + " s, " + _fmt(_col(t, "silent_fraction") * 100, 0) + "% silent"))
    snr = _col(t, "snr_db").replace(np.inf, 120.0)
    out.append(_long(t, "low_snr", snr, "SNR " + _fmt(snr, 1) + " dB"))
    level = _col(t, "speech_level_dbfs")
    out.append(_long(t, "too_quiet", level, "speech level " + _fmt(level, 1) + " dBFS"))
    out.append(_long(t, *_duration_outlier(t)))

    sr = pd.to_numeric(_col(t, "sample_rate"), errors="coerce")
    if sr.notna().any():
        mode_sr = float(sr.mode().iloc[0])
        octaves = np.abs(np.log2(sr / mode_sr))
        out.append(_long(t, "sample_rate_mismatch", octaves,
                         sr.astype("Int64").astype(str) + " Hz vs dataset's " + str(int(mode_sr)) + " Hz"))
    channels = pd.to_numeric(_col(t, "channels"), errors="coerce")
    if channels.notna().any():
        mode_ch = float(channels.mode().iloc[0])
        out.append(_long(t, "channel_mismatch", (channels - mode_ch).abs(),
                         channels.astype("Int64").astype(str) + " channels vs dataset's " + str(int(mode_ch))))
    return out


def _hierarchy(*keys: pd.Series, min_count: int = MIN_MEDIAN) -> pd.Series:
    """Per row, the first (most specific) key whose group has at least ``min_count`` rows; else the last key."""
    out = keys[-1].astype(str)
    for key in reversed(keys[:-1]):
        key = key.astype(str)
        out = key.where(key.map(key.value_counts()) >= min_count, out)
    return out


def _speech_rate_z(t: pd.DataFrame) -> pd.Series:
    """Robust z of log letters per second of speech, within the speaker's (or language's) clips."""
    chars = pd.to_numeric(_col(t, "chars"), errors="coerce")
    speech = pd.to_numeric(_col(t, "speech_s"), errors="coerce")
    # Letters mostly in another script are not this language's letters: no rate to judge.
    foreign = pd.to_numeric(_col(t, "script_mismatch"), errors="coerce") >= 0.5
    rate = (chars / speech).where((chars > 0) & (speech > 0) & _decoded(t) & ~foreign)
    return robust_z(np.log(rate), _speaker_or_language(t), min_scale=RATE_SCALE)


def _ends_mid_speech(t: pd.DataFrame) -> pd.Series:
    """Whether a clip's last 30 ms are still speech: within 10 dB of its speech level and 10 dB above its noise."""
    drop = pd.to_numeric(_col(t, "end_drop_db"), errors="coerce")
    snr = pd.to_numeric(_col(t, "snr_db"), errors="coerce")
    return (drop < CUT_OFF_DROP_DB) & ((snr - drop > CUT_OFF_ABOVE_NOISE_DB) | snr.isna())


def _duration_outlier(t: pd.DataFrame) -> tuple[str, pd.Series, pd.Series]:
    """Speech duration's robust |z| among the speaker's (or language's) clips, with more weight on clips cut off.

    A clip is cut off when its last 30 ms are still speech (within 10 dB of the
    speech level and 10 dB above the noise) or when its trailing silence is
    under a quarter of what its speaker's clips usually have. A cut-off clip
    keeps its full transcript, so its shortness is also measured against that
    transcript: against clips with the same words (same speaker, else any
    speaker, else the same word count) and by its letters per second. Ending
    mid-speech is itself evidence of truncation, so such a clip's shortness
    gets ``CUT_OFF_EVIDENCE`` robust SDs added: 1.5 SD of deficit then
    reaches the default threshold of 4. A complete clip with a wrong transcript ends normally and is
    left to ``speech_rate_outlier``.
    """
    speech = pd.to_numeric(_col(t, "speech_s"), errors="coerce")
    log_speech = np.log(speech.where(speech > 0))
    speaker_group = _speaker_or_language(t)
    z_len = robust_z(log_speech, speaker_group, min_scale=DURATION_SCALE)
    words = pd.to_numeric(_col(t, "words"), errors="coerce")
    language = _col(t, "language", None).astype(str)
    norm = _col(t, "transcript", None).map(text.normalise_transcript)
    same_words = _hierarchy(language + "|" + _col(t, "speaker", None).astype(str) + "|" + norm,
                            language + "|" + norm, language + "|" + words.astype(str))
    z_words = robust_z(log_speech.where(words > 0), same_words, min_scale=DURATION_SCALE)
    short = np.fmax(np.fmax(-z_words, _speech_rate_z(t)), -z_len)
    mid_speech = _ends_mid_speech(t)
    trail = pd.to_numeric(_col(t, "trail_silence_s"), errors="coerce")
    usual_trail = trail.groupby(speaker_group).transform("median")
    cut = mid_speech | (trail < CUT_OFF_TRAIL_SHARE * usual_trail)
    score = np.fmax(z_len.abs(), short.where(cut & (short > 0)))
    score = np.fmax(score, (short + CUT_OFF_EVIDENCE).where(mid_speech & (short > 0)))
    detail = ("speech " + _fmt(speech, 2) + " s, z " + _fmt(z_len, 1)
              + pd.Series(np.where(cut, np.where(mid_speech, ", ends mid-speech", ", ends early")
                                   + ": " + _fmt(short, 1) + " SD short for its transcript", ""), index=t.index, dtype=str))
    return "duration_outlier", score, detail


# --------------------------------------------------------------------------- transcripts
def transcript_scores(table: pd.DataFrame) -> list[pd.DataFrame]:
    """Empty, wrong-script, speech-rate and duplicate-transcript scores of audio items.

    Nothing is scored when no audio item has a transcript: the dataset is not transcribed.
    """
    rows = _col(table, "modality", "") == "audio"
    t = table[rows]
    if t.empty or "transcript" not in t.columns or _blank(t["transcript"]).all():
        return []
    empty = _col(t, "empty")
    out = [_long(t, "empty_transcript", empty, np.where(empty > 0, "transcript is empty", ""))]
    mismatch = _col(t, "script_mismatch")
    out.append(_long(t, "script_mismatch", mismatch, _fmt(mismatch * 100, 0) + "% of letters outside "
                     + _col(t, "language", None).astype(str) + "'s script"))

    chars = pd.to_numeric(_col(t, "chars"), errors="coerce")
    rate = chars / pd.to_numeric(_col(t, "speech_s"), errors="coerce")
    # A clip cut off mid-speech has no speech rate to judge; duration_outlier reports it.
    rate_z = _speech_rate_z(t).where(~_ends_mid_speech(t))
    language = _col(t, "language", None).astype(object).where(~_blank(_col(t, "language", None)), "<none>")
    out.append(_long(t, "speech_rate_outlier", rate_z.abs(), _fmt(rate, 1) + " letters/s, z " + _fmt(rate_z, 1)
                     + " for its speaker or language"))

    norm = t["transcript"].map(text.normalise_transcript)
    words = pd.to_numeric(_col(t, "words"), errors="coerce")
    has = (norm != "") & (words > 0)
    group = language.astype(str) + "|" + words.astype(str)
    g = norm[has].groupby(group[has])
    uniqueness = group.map(g.nunique() / g.size())
    pos = pd.Series(np.arange(len(t)), index=t.index)
    first = pos[has].groupby([group[has], norm[has]]).transform("min")
    repeated = has & (first.reindex(t.index) != pos)
    score = uniqueness.where(repeated, 0.0).where(has)
    first_id = pd.Series(t["id"].astype(str).to_numpy()[first.reindex(t.index).fillna(0).astype(int).to_numpy()], index=t.index)
    detail = ("same transcript as " + first_id + "; " + _fmt(uniqueness * 100, 0) + "% of "
              + group.str.replace("|", " ", regex=False) + "-word transcripts are unique").where(repeated, "")
    out.append(_long(t, "transcript_duplicate", score, detail))
    return out


def signal_scores(table: pd.DataFrame) -> pd.DataFrame:
    """Scores of every signal check for every sample it applies to.

    Parameters
    ----------
    table : DataFrame
        One row per sample: ``id``, ``modality``, ``media_error``, metadata
        (``language``, ``batch``, ``vendor``, ``split``, ``speaker``,
        ``transcript``, ``content_hash``), header facts (``width``, ``height``,
        ``sample_rate``, ``channels``, ``duration``), every phase-1 metric
        (NaN where not computed), ``phash`` and ``fingerprint``.

    Returns
    -------
    DataFrame
        Columns ``id, check, score, detail``: one row per (sample, check) that
        could be scored, fired or not, in the unit of the check's spec.
    """
    t = table.reset_index(drop=True)
    if t.empty:
        return pd.DataFrame(columns=SCORE_COLUMNS)
    if "transcript" in t.columns and ("words" not in t.columns or t["words"].isna().all()):
        metrics = pd.DataFrame([text.transcript_metrics(x, lang) for x, lang in
                                zip(t["transcript"], _col(t, "language", None))], index=t.index)
        t = t.drop(columns=[c for c in metrics.columns if c in t.columns]).join(metrics)
    parts = file_scores(t) + duplicate_scores(t) + image_scores(t) + audio_scores(t) + transcript_scores(t)
    out = pd.concat([p for p in parts if len(p)], ignore_index=True)
    return out[SCORE_COLUMNS]
