"""The flag lifecycle: a rescan never reopens a dismissal and never loses a review decision."""

from __future__ import annotations

from datetime import datetime

import pytest

from datasteward.flags import comparable, derived_tags, merge_flags, new_flag

T0, T1 = datetime(2026, 1, 1), datetime(2026, 1, 2)


def finding(check="dark", score=0.05, fired=True, threshold=0.1):
    return {"check": check, "score": score, "threshold": threshold, "fired": fired, "owner": "data_ops",
            "severity": "high", "detail": ""}


def test_a_firing_check_opens_one_flag_and_a_rescan_does_not_duplicate_it():
    first = merge_flags([], {"dark": finding()}, {"dark"}, now=T0)
    assert [(f["check"], f["status"], f["version"], f["created_by"]) for f in first] == [("dark", "open", 1, "auto")]
    again = merge_flags(first, {"dark": finding(score=0.04)}, {"dark"}, now=T1)
    assert len(again) == 1 and again[0]["score"] == pytest.approx(0.04) and again[0]["created_at"] == T0


def test_an_open_automatic_flag_goes_when_the_check_stops_firing():
    first = merge_flags([], {"dark": finding()}, {"dark"}, now=T0)
    assert merge_flags(first, {"dark": finding(score=0.5, fired=False)}, {"dark"}, now=T1) == []


@pytest.mark.parametrize("status", ["dismissed", "confirmed"])
def test_review_decisions_survive_a_rescan(status):
    flag = {**new_flag(finding(), now=T0), "status": status, "version": 2, "updated_by": "ana"}
    for fired in (True, False):
        [kept] = merge_flags([flag], {"dark": finding(score=0.07, fired=fired)}, {"dark"}, now=T1)
        assert (kept["status"], kept["version"], kept["updated_by"]) == (status, 2, "ana")
        assert kept["last_score"] == pytest.approx(0.07) and kept["last_fired"] is fired


def test_a_fixed_item_is_rechecked_beside_the_old_result():
    flag = {**new_flag(finding(score=0.05), now=T0), "status": "fixed"}
    [kept] = merge_flags([flag], {"dark": finding(score=0.4, fired=False)}, {"dark"}, now=T1)
    assert kept["status"] == "fixed" and kept["score"] == pytest.approx(0.05)
    assert kept["recheck"] == {"score": 0.4, "threshold": 0.1, "fired": False, "at": T1}


def test_checks_outside_the_scan_are_left_alone():
    flags = merge_flags([], {"dark": finding(), "blurry": finding("blurry")}, {"dark", "blurry"}, now=T0)
    after = merge_flags(flags, {"dark": finding(fired=False)}, {"dark"}, now=T1)
    assert [f["check"] for f in after] == ["blurry"]


def test_manual_flags_are_never_removed_by_a_scan():
    manual = {**new_flag(finding("dark"), now=T0, by="ana")}
    assert merge_flags([manual], {"dark": finding(fired=False)}, {"dark"}, now=T1) == [manual]


def test_tags_mirror_flags_and_keep_the_users_own():
    flags = [{"check": "dark", "status": "open"}, {"check": "blurry", "status": "dismissed"},
             {"check": "clipping", "status": "confirmed"}]
    tags = derived_tags(["mine", "flag:stale", "review:fixed"], flags)
    assert tags == ["mine", "flag:clipping", "flag:dark", "review:confirmed", "review:dismissed"]


def test_comparable_ignores_refresh_timestamps():
    a = merge_flags([], {"dark": finding()}, {"dark"}, now=T0)
    touched = [{**a[0], "updated_at": T1, "last_checked_at": T1}]
    assert comparable(touched) == comparable(a) and touched != a
    assert comparable([{**a[0], "status": "dismissed"}]) != comparable(a)
