"""What a user changes in the app survives a restart: a new process sees it, in the app and in the CLI exports."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import textwrap

from conftest import REPO
from test_review import flagged  # noqa: F401  (fixture)
from test_review_page import act_on_dark, open_review, open_review_at


def run(*args: str) -> str:
    """Run ``args`` in a fresh Python process against the same database; return its standard output."""
    done = subprocess.run([sys.executable, *args], cwd=REPO, env=os.environ.copy(), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def fresh_app_queues(name: str, statuses: list[str]) -> dict[str, list[dict]]:
    """The Review page of a newly started app (new process, caches and session): the rows of each status's queue."""
    script = textwrap.dedent(f"""
        import json
        from streamlit.testing.v1 import AppTest
        seen = {{}}
        for status in {statuses!r}:
            at = AppTest.from_file({str(REPO / "app.py")!r}, default_timeout=120)
            at.query_params["dataset"] = {name!r}
            at.run()
            at.query_params["status"] = status
            at.switch_page("pages/review.py").run()
            assert not at.exception, at.exception
            empty = at.caption[0].value == "0 flags match"
            seen[status] = [] if empty else at.dataframe(key="rv_table").value[
                ["item", "check", "status", "assignee"]].to_dict("records")
        print(json.dumps(seen))
    """)
    return json.loads(run("-c", script).strip().splitlines()[-1])


def test_confirm_fix_and_dismiss_survive_a_restart(flagged):  # noqa: F811
    ds, dark = flagged
    name = ds.name
    at = open_review(name)
    act_on_dark(at, 1, "confirm", rv_assignee="ben")
    assert "confirm: 1 flags updated" in at.success[0].value
    act_on_dark(at, 1, "dismiss")
    assert "dismiss: 1 flags updated" in at.success[0].value
    statuses = {sid: f["status"] for sid, f in _dark_flags(ds)}
    fixed_sid = next(sid for sid, s in statuses.items() if s == "open")
    at = open_review_at(name, check="dark", item=fixed_sid)
    at.text_input(key="rv_fix_label").set_value("night shirt").run()
    at.button(key="rv_fix_save").click().run()
    assert at.success[0].value.startswith(f"Fixed {fixed_sid}")
    expected = {sid: f["status"] for sid, f in _dark_flags(ds)}
    assert sorted(expected.values()) == ["confirmed", "dismissed", "fixed", "open"]

    flags = list(csv.DictReader(io.StringIO(run("-m", "datasteward.cli", "flags", name, "--check", "dark"))))
    assert {r["sample_id"]: r["status"] for r in flags} == expected
    assert {r["assignee"] for r in flags if r["status"] == "confirmed"} == {"ben"}
    samples = {r["sample_id"]: r for r in csv.DictReader(io.StringIO(run("-m", "datasteward.cli", "export", name)))}
    assert samples[fixed_sid]["label"] == "night shirt"
    assert all(samples[sid]["label"] != "night shirt" for sid in expected if sid != fixed_sid)

    seen = fresh_app_queues(name, ["confirmed", "dismissed", "fixed"])
    for status, rows in seen.items():
        dark_rows = [r for r in rows if r["check"] == "dark"]
        assert [r["status"] for r in dark_rows] == [status], seen
    assert seen["confirmed"][0]["assignee"] == "ben"


def _dark_flags(ds):
    from datasteward import store

    return [(sid, f) for sid, (fl, _, _) in store.read_flags(ds).items() for f in fl if f["check"] == "dark"]
