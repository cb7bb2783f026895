"""Transcript metrics (letters, words, script, emptiness) and the specs of the transcript checks."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from datasteward.checks.registry import CheckSpec

SPECS = (
    CheckSpec("empty_transcript", "audio", "annotation", "high",
              "Transcript missing, blank, or only whitespace or invisible characters",
              "above", 0.5, "flag"),
    CheckSpec("script_mismatch", "audio", "annotation", "high",
              "Share of the transcript's letters outside the writing system(s) of its language",
              "above", 0.5, "ratio"),
    CheckSpec("speech_rate_outlier", "audio", "annotation", "medium",
              "Letters per second of speech far from its speaker's (or language's) norm, learned from the data",
              "above", 3.5, "robust |z|", level="dataset"),
    CheckSpec("transcript_duplicate", "audio", "annotation", "medium",
              "Same transcript as another clip where the language's transcripts of that length are nearly all unique",
              "above", 0.8, "uniqueness", level="dataset"),
)

# Expected scripts per ISO 639 language code; the names are the first word(s) of
# the Unicode character names of letters in that script.
_LATIN = ("LATIN",)
SCRIPTS: dict[str, tuple[str, ...]] = {
    **{code: _LATIN for code in (
        "af", "az", "bs", "ca", "cs", "cy", "da", "de", "en", "eo", "es", "et", "eu", "fi", "fil", "fr", "ga",
        "gl", "ha", "hr", "hu", "id", "ig", "is", "it", "jv", "lb", "lt", "lv", "mg", "mi", "ms", "mt", "nl",
        "nb", "nn", "no", "pl", "pt", "ro", "rw", "sk", "sl", "sm", "sn", "so", "sq", "st", "su", "sv", "sw",
        "tl", "tr", "tk", "uz", "vi", "wo", "xh", "yo", "zu", "ku", "qu", "ay", "gn", "ln", "lg", "ny", "om",
        "rm", "fo", "fy", "gd", "br", "co", "oc", "la", "haw", "ceb", "hmn", "ht")},
    **{code: ("CYRILLIC",) for code in ("ru", "uk", "be", "bg", "mk", "kk", "ky", "mn", "tg", "tt", "ba", "cv", "sah", "ce", "os")},
    "sr": ("CYRILLIC", "LATIN"),
    **{code: ("ARABIC",) for code in ("ar", "fa", "ur", "ps", "sd", "ug", "ckb", "arz", "ary")},
    **{code: ("HEBREW",) for code in ("he", "iw", "yi")},
    **{code: ("DEVANAGARI",) for code in ("hi", "mr", "ne", "sa", "mai", "bho", "kok", "doi")},
    **{code: ("BENGALI",) for code in ("bn", "as", "mni")},
    "pa": ("GURMUKHI",), "gu": ("GUJARATI",), "or": ("ORIYA",), "ta": ("TAMIL",), "te": ("TELUGU",),
    "kn": ("KANNADA",), "ml": ("MALAYALAM",), "si": ("SINHALA",), "th": ("THAI",), "lo": ("LAO",),
    "km": ("KHMER",), "my": ("MYANMAR",), "bo": ("TIBETAN",), "dz": ("TIBETAN",), "ka": ("GEORGIAN",),
    "hy": ("ARMENIAN",), "el": ("GREEK",), "am": ("ETHIOPIC",), "ti": ("ETHIOPIC",), "dv": ("THAANA",),
    "zh": ("CJK",), "yue": ("CJK",), "wuu": ("CJK",), "ja": ("CJK", "HIRAGANA", "KATAKANA"),
    "ko": ("HANGUL", "CJK"), "iu": ("CANADIAN",), "chr": ("CHEROKEE",),
}
# BCP-47 script subtags (zh-Hant, sr-Latn, uz-Cyrl) override the language's default.
SCRIPT_SUBTAGS = {
    "latn": ("LATIN",), "cyrl": ("CYRILLIC",), "arab": ("ARABIC",), "deva": ("DEVANAGARI",), "hans": ("CJK",),
    "hant": ("CJK",), "hani": ("CJK",), "jpan": ("CJK", "HIRAGANA", "KATAKANA"), "kore": ("HANGUL", "CJK"),
    "hang": ("HANGUL",), "grek": ("GREEK",), "hebr": ("HEBREW",), "thai": ("THAI",), "beng": ("BENGALI",),
    "taml": ("TAMIL",), "geor": ("GEORGIAN",), "armn": ("ARMENIAN",), "ethi": ("ETHIOPIC",), "guru": ("GURMUKHI",),
}
_SHARED = ("KATAKANA-HIRAGANA",)  # the Japanese prolonged sound mark belongs to both kana
_WIDTH = re.compile(r"^(FULLWIDTH|HALFWIDTH) ")
_INVISIBLE = {"Cf", "Zs", "Zl", "Zp", "Cc"}


def expected_scripts(language: str | None) -> tuple[str, ...] | None:
    """Scripts a BCP-47 tag is written in (``"th"`` -> ``("THAI",)``), or None if unknown."""
    if not language or not isinstance(language, str):
        return None
    parts = language.strip().replace("_", "-").lower().split("-")
    for part in parts[1:]:
        if len(part) == 4 and part in SCRIPT_SUBTAGS:
            return SCRIPT_SUBTAGS[part]
    return SCRIPTS.get(parts[0])


@lru_cache(maxsize=65536)
def script_of(char: str) -> str | None:
    """Script of a letter or combining mark from its Unicode name (``"ก"`` -> ``"THAI"``); None for marks shared by all scripts."""
    name = _WIDTH.sub("", unicodedata.name(char, ""))
    if not name or name.startswith("COMBINING"):
        return None
    for shared in _SHARED:
        if name.startswith(shared):
            return shared
    first = name.split(" ", 1)[0]
    return "CJK" if first in ("CJK", "IDEOGRAPHIC") else first


def _letters(text: str) -> list[str]:
    return [c for c in text if unicodedata.category(c)[0] in "LM"]


def transcript_metrics(text: str | None, language: str | None) -> dict[str, float]:
    """Letter and word counts, script mismatch and emptiness of one transcript.

    Parameters
    ----------
    text : str or None
        The transcript; None (or a float NaN from a table) means missing.
    language : str or None
        BCP-47 tag such as ``"th"``, ``"pt-BR"`` or ``"sr-Latn"``.

    Returns
    -------
    dict
        ``chars``: letters and combining marks (no spaces, digits or punctuation)
        after NFC normalisation; ``words``: whitespace-separated tokens holding a
        letter or digit; ``script_mismatch``: share of letters outside the
        language's scripts (NaN when the language is unknown or there are no
        letters); ``empty``: 1.0 when missing, blank or only invisible characters.
    """
    if not isinstance(text, str):
        text = ""
    text = unicodedata.normalize("NFC", text)
    empty = all(unicodedata.category(c) in _INVISIBLE for c in text)
    letters = _letters(text)
    words = sum(1 for token in text.split() if any(c.isalnum() for c in token))
    scripts = expected_scripts(language)
    mismatch = float("nan")
    if scripts is not None:
        judged = [s for s in map(script_of, letters) if s is not None]
        if judged:
            outside = sum(1 for s in judged if s not in scripts and not (s in _SHARED and {"HIRAGANA", "KATAKANA"} & set(scripts)))
            mismatch = outside / len(judged)
    return {
        "chars": float(len(letters)),
        "words": float(words),
        "script_mismatch": mismatch,
        "empty": 1.0 if empty else 0.0,
    }


def normalise_transcript(text: str | None) -> str:
    """Casefolded NFKC text with punctuation removed and whitespace collapsed (for comparing transcripts)."""
    if not isinstance(text, str):
        return ""
    text = unicodedata.normalize("NFKC", text).casefold()
    kept = "".join(c if unicodedata.category(c)[0] in "LMN" else " " for c in text)
    return " ".join(kept.split())
