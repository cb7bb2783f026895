"""Transcript metrics: letters, words, scripts and emptiness."""

from __future__ import annotations

import math

import pytest

from datasteward.checks import text

CASES = [
    ("hello world", "en", 10, 2, 0.0),
    ("Hello, world!", "en-US", 10, 2, 0.0),
    ("không một hai", "vi", 11, 3, 0.0),
    ("ศูนย์ หนึ่ง", "th", 10, 2, 0.0),
    ("sun nueng", "th", 8, 2, 1.0),
    ("शून्य एक", "hi", 7, 2, 0.0),
    ("सात", "sw", 3, 1, 1.0),
    ("привет мир", "ru", 9, 2, 0.0),
    ("zdravo svete", "sr-Latn", 11, 2, 0.0),
    ("東京にいきます", "ja", 7, 1, 0.0),
    ("안녕하세요", "ko", 5, 1, 0.0),
    ("iPhone बहुत अच्छा है", "hi", 17, 4, 6 / 17),  # vowel signs and virama count as letters of their script
]


@pytest.mark.parametrize("transcript, language, chars, words, mismatch", CASES, ids=[c[1] + ":" + c[0] for c in CASES])
def test_letters_words_and_script(transcript, language, chars, words, mismatch):
    m = text.transcript_metrics(transcript, language)
    assert m["chars"] == chars
    assert m["words"] == words
    assert m["script_mismatch"] == pytest.approx(mismatch, abs=1e-9)
    assert m["empty"] == 0.0


@pytest.mark.parametrize("transcript", [None, "", "   ", "\u200b\u200b", float("nan")],
                         ids=["none", "blank", "spaces", "zero-width", "nan"])
def test_missing_or_invisible_transcripts_are_empty(transcript):
    m = text.transcript_metrics(transcript, "en")
    assert m["empty"] == 1.0 and m["chars"] == 0.0 and m["words"] == 0.0


@pytest.mark.parametrize("language", [None, "", "xx", "tlh"], ids=["none", "blank", "unknown", "klingon"])
def test_unknown_language_gives_no_script_verdict(language):
    assert math.isnan(text.transcript_metrics("hello", language)["script_mismatch"])


def test_script_subtag_overrides_the_language_default():
    assert text.expected_scripts("uz-Cyrl") == ("CYRILLIC",)
    assert text.expected_scripts("zh-Hant") == ("CJK",)
    assert text.expected_scripts("pt_BR") == ("LATIN",)


def test_normalised_transcripts_ignore_case_punctuation_and_spacing():
    assert text.normalise_transcript("  Hello,   WORLD! ") == text.normalise_transcript("hello world") == "hello world"
    assert text.normalise_transcript(None) == ""
