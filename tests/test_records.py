"""Normalising the metadata that every format shares."""

from datetime import datetime, timedelta, timezone

import pytest

from datasteward.records import normalize_language, parse_time


@pytest.mark.parametrize("raw, tag", [("EN", "en"), ("pt_br", "pt-BR"), ("zh-hant-tw", "zh-Hant-TW"), ("sw", "sw"), ("", None)])
def test_normalize_language(raw, tag):
    assert normalize_language(raw) == tag


@pytest.mark.parametrize("raw", ["english!", "e", "12"])
def test_normalize_language_refuses_non_tags(raw):
    with pytest.raises(ValueError, match="BCP-47"):
        normalize_language(raw)


def test_parse_time_accepts_z_suffix():
    assert parse_time("2026-01-15T10:00:00Z") == datetime(2026, 1, 15, 10, tzinfo=timezone(timedelta(0)))
    assert parse_time(" ") is None
    with pytest.raises(ValueError, match="ISO-8601"):
        parse_time("15/01/2026")
