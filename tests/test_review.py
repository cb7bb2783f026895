"""Review actions: atomic, version-checked, permission-checked, recorded, and undoable in bulk."""

from __future__ import annotations

import pytest

from datasteward import review, store
from datasteward.errors import AccessDenied, ConflictError, DataStewardError
from datasteward.review import Actor
from datasteward.scan import scan
from test_scan import heldout_delivery
from datasteward.ingest import import_source

ANA, BEN, VIC = Actor("ana"), Actor("ben"), Actor("vic", "viewer")


@pytest.fixture
def flagged(tmp_path, dataset_name):
    """A scanned delivery of real files with a few flags: four photos darkened beyond use."""
    import numpy as np
    from PIL import Image

    root = heldout_delivery(tmp_path, images=12, clips=0)
    for path in sorted((root / "images").rglob("*.jpg"))[:4]:
        with Image.open(path) as im:
            Image.fromarray((np.asarray(im.convert("RGB")) * 0.03).astype(np.uint8)).save(path, quality=90)
    import_source(root / "manifest.csv", dataset_name)
    scan(dataset_name, workers=1)
    ds = store.open_dataset(dataset_name)
    dark = [(sid, f) for sid, (fl, _, _) in store.read_flags(ds).items() for f in fl if f["check"] == "dark"]
    assert len(dark) == 4
    return ds, dark


def status(ds, sid, check="dark"):
    return next(f for f in store.read_flags(ds, [sid])[sid][0] if f["check"] == check)


def test_confirm_assigns_records_and_mirrors(flagged):
    ds, dark = flagged
    sid, flag = dark[0]
    entry = review.act(ds, sid, "dark", "confirm", ANA, version=flag["version"], assignee="ben")
    now = status(ds, sid)
    assert (now["status"], now["assignee"], now["version"], now["updated_by"]) == ("confirmed", "ben", 2, "ana")
    assert now["history"][-1]["action"] == "confirm" and entry["before"] == "open"
    assert [h["action"] for h in review.history(ds, sid)] == ["confirm"]
    assert "review:confirmed" in store.read_flags(ds, [sid])[sid][2]
    assert [s for s, _ in review.my_queue(ds, "ben")] == [sid]


def test_a_stale_version_is_refused_and_nothing_changes(flagged):
    ds, dark = flagged
    sid, flag = dark[0]
    review.act(ds, sid, "dark", "dismiss", ANA, version=flag["version"])
    with pytest.raises(ConflictError, match="changed by ana"):
        review.act(ds, sid, "dark", "confirm", BEN, version=flag["version"])
    assert status(ds, sid)["status"] == "dismissed" and len(review.history(ds, sid)) == 1


def test_a_viewer_cannot_change_a_flag(flagged):
    ds, dark = flagged
    sid, flag = dark[0]
    with pytest.raises(AccessDenied, match="viewer"):
        review.act(ds, sid, "dark", "confirm", VIC, version=flag["version"])
    with pytest.raises(AccessDenied):
        review.fix_label(ds, sid, VIC, label="hat")
    assert status(ds, sid)["status"] == "open" and review.history(ds, sid) == []


def test_send_back_needs_a_reason(flagged):
    ds, dark = flagged
    sid, flag = dark[0]
    with pytest.raises(DataStewardError, match="needs a reason"):
        review.act(ds, sid, "dark", "send_back", ANA, version=flag["version"])
    review.act(ds, sid, "dark", "send_back", ANA, version=flag["version"], note="unusable exposure")
    assert status(ds, sid)["returned_reason"] == "unusable exposure"


def test_decisions_survive_a_rescan(flagged):
    ds, dark = flagged
    (a, fa), (b, fb) = dark[:2]
    review.act(ds, a, "dark", "dismiss", ANA, version=fa["version"])
    review.act(ds, b, "dark", "confirm", ANA, version=fb["version"])
    scan(ds.name, workers=1)
    assert status(ds, a)["status"] == "dismissed" and status(ds, b)["status"] == "confirmed"
    assert sum(f["check"] == "dark" for f in store.read_flags(ds, [a])[a][0]) == 1


def test_fix_label_keeps_the_old_value_and_is_rechecked(flagged):
    ds, dark = flagged
    sid, flag = dark[0]
    old = ds[sid].ground_truth.label
    review.fix_label(ds, sid, ANA, label="hat", checks=["dark"], versions={"dark": flag["version"]})
    sample = store.open_dataset(ds.name)[sid]
    assert sample.ground_truth.label == "hat"
    assert sample.corrections[-1]["old_label"] == old and sample.corrections[-1]["who"] == "ana"
    assert status(ds, sid)["status"] == "fixed"
    scan(ds.name, workers=1)
    fixed = status(ds, sid)
    assert fixed["status"] == "fixed" and fixed["recheck"]["fired"] is True  # still dark: the fix was to the label


def test_bulk_dismiss_and_undo(flagged):
    ds, dark = flagged
    items = [(sid, "dark", f["version"]) for sid, f in dark]
    done = review.bulk(ds, items, "dismiss", ANA)
    assert len(done.done) == 4 and not done.conflicts
    assert all(status(ds, sid)["status"] == "dismissed" for sid, _ in dark)
    # One flag is changed again before the undo: the undo leaves it alone.
    touched = dark[0][0]
    review.act(ds, touched, "dark", "reopen", BEN, version=status(ds, touched)["version"])
    undone = review.undo(ds, done.bulk_id, ANA)
    assert len(undone.done) == 3 and [c[0] for c in undone.conflicts] == [touched]
    assert all(status(ds, sid)["status"] == "open" for sid, _ in dark)
    assert [h["action"] for h in review.history(ds, dark[1][0])] == ["dismiss", "undo"]
