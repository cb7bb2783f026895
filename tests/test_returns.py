"""Return reports: exactly the flags sent back, grouped by batch and vendor, with reasons and evidence, escaped."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from datasteward import cli, returns, review
from datasteward.review import Actor
from test_review import flagged  # noqa: F401  (fixture)

ANA = Actor("ana")
SCRIPT = "<script>alert('x')</script> too dark to label"


def send_back_two(ds, dark):
    """Send two dark photos back (one reason carries HTML), dismiss a third; returns the two sent back."""
    (s1, f1), (s2, f2), (s3, f3) = dark[:3]
    review.act(ds, s1, "dark", "send_back", ANA, version=f1["version"], note=SCRIPT)
    review.act(ds, s2, "dark", "send_back", ANA, version=f2["version"], note="underexposed")
    review.act(ds, s3, "dark", "dismiss", ANA, version=f3["version"])
    return {s1: SCRIPT, s2: "underexposed"}


def test_the_table_lists_only_sent_back_flags_with_reason_and_evidence(flagged):  # noqa: F811
    ds, dark = flagged
    sent = send_back_two(ds, dark)
    table = returns.sent_back_table(ds)
    assert dict(zip(table["sample_id"], table["reason"])) == sent
    assert set(table["check"]) == {"dark"} and set(table["who"]) == {"ana"}
    assert (table["score"] < table["threshold"]).all()  # dark fires below its threshold
    assert all("brightness_p99=" in e for e in table["evidence"])
    assert list(table["item"]) == [Path(p).name for p in table["filepath"]]
    assert table[["batch", "vendor", "item"]].values.tolist() == sorted(table[["batch", "vendor", "item"]].values.tolist())


def test_filters_by_batch_and_vendor(flagged):  # noqa: F811
    ds, dark = flagged
    send_back_two(ds, dark)
    table = returns.sent_back_table(ds)
    batch = table["batch"].iloc[0]
    assert list(returns.sent_back_table(ds, batch=batch)["sample_id"]) == list(table[table["batch"] == batch]["sample_id"])
    assert len(returns.sent_back_table(ds, vendor="acme")) == 2
    assert returns.sent_back_table(ds, vendor="nobody").empty


def test_csv_rows_and_escaped_html(flagged, tmp_path):  # noqa: F811
    ds, dark = flagged
    sent = send_back_two(ds, dark)
    table = returns.sent_back_table(ds)
    rows = list(csv.DictReader(io.StringIO(returns.to_csv(table))))
    assert {r["sample_id"]: r["reason"] for r in rows} == sent
    assert {r["vendor"] for r in rows} == {"acme"}
    page = returns.to_html(table, dataset=ds.name)
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; too dark to label" in page
    for batch in set(table["batch"]):
        assert f"<h2>Batch {batch} · vendor acme" in page
    assert page.count("<tr>") == len(sent) + table["batch"].nunique()  # one header row per group


def test_an_empty_report_says_so():
    import pandas as pd

    page = returns.to_html(pd.DataFrame(columns=returns.COLUMNS), dataset="<x>")
    assert "Nothing has been sent back" in page and "&lt;x&gt;" in page


def test_cli_writes_both_formats(flagged, tmp_path, capsys):  # noqa: F811
    ds, dark = flagged
    sent = send_back_two(ds, dark)
    out_csv, out_html = tmp_path / "r.csv", tmp_path / "r.html"
    assert cli.main(["returns", ds.name, "--vendor", "acme", "--format", "csv", "--output", str(out_csv)]) == 0
    assert cli.main(["returns", ds.name, "--format", "html", "--output", str(out_html)]) == 0
    with open(out_csv, newline="", encoding="utf-8") as fh:
        assert {r["sample_id"] for r in csv.DictReader(fh)} == set(sent)
    assert "&lt;script&gt;" in out_html.read_text(encoding="utf-8")
    assert "2 returned flags written" in capsys.readouterr().err
