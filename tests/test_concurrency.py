"""Reviewers acting at once through the library calls the pages use: no update lost, every conflict detected.

Eight spawned processes, each its own MongoDB client as a second app server
would be, hammer a few flags on a handful of items with confirm, dismiss,
send back, reopen, comment, bulk actions, undo and label fixes. Afterwards
the records must add up exactly:

- the history collection holds one document per successful action, no more, no less;
- replaying each flag's own history (each entry's ``before`` is the previous
  ``after``, its ``version`` the previous plus one) gives the flag's final
  status and version;
- per flag, the actions of each reviewer (comments included) match what that
  reviewer was told succeeded, and each item keeps every label fix;
- the tag mirror equals the tags derived from the final flags.

Why this fails without the version check: two reviewers who read version v
both write, so one flag gets two entries numbered v+1, or an entry whose
``before`` is not the status the other left; the replay then disagrees with
the flag. Whether such a race happens in a given run depends on timing, so the
proof that the check matters is deterministic instead:
:func:`test_without_the_version_check_the_stale_write_would_overwrite` replays a
stale write with the version filter removed and shows it overwrite the item.
"""

from __future__ import annotations

import json
import multiprocessing
import random
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from datasteward import flags as flaglib
from datasteward import review, store
from datasteward.errors import ConflictError
from datasteward.review import Actor

CHECKS = ("dark", "blurry")
WORKERS = 8
ACTIONS_EACH = 200


def make_flagged(name: str, items: int, checks=CHECKS) -> list[str]:
    """A dataset of ``items`` samples (no media needed), each with an open flag per check; returns the ids."""
    ds = store.open_dataset(name, create=True)
    store.ensure_label_field(ds, "classification")
    store.add_samples(ds, [{"filepath": f"/nowhere/{i}.jpg", "media_path": f"/nowhere/{i}.jpg", "item_key": f"k{i}",
                            "modality": "image", "label": "cat", "batch": "b1"} for i in range(items)])
    store.ensure_scan_fields(ds)
    now = datetime(2026, 11, 27, 12, 0)
    updates = []
    for sid in ds.values("id"):
        flags = [flaglib.new_flag({"check": c, "owner": "data_ops", "severity": "high", "score": 1.0, "threshold": 0.5},
                                  now=now) for c in checks]
        updates.append((sid, 0, flags, flaglib.derived_tags([], flags)))
    assert store.write_flags(ds, updates) == []
    return sorted(ds.values("id"))


def flag_now(ds, sid: str, check: str) -> dict:
    return next(f for f in store.read_flags(ds, [sid])[sid][0] if f["check"] == check)


# --- the worker (runs in a spawned process) ------------------------------------

def review_worker(name: str, index: int, actions: int, barrier, out: str) -> None:
    """Do ``actions`` successful review actions on random flags; write what succeeded to ``out`` (JSON).

    One action is one history record: a bulk action on three flags that
    succeeds on two counts two. On a :class:`ConflictError` the worker
    re-reads the flag and tries again, and counts the conflict.
    """
    ds = store.open_dataset(name)
    ids = sorted(ds.values("id"))
    actor = Actor(f"w{index}")
    rng = random.Random(1000 + index)
    done: list[list] = []  # [sample id, check or None, action]
    conflicts, bulk_ids = 0, []
    barrier.wait()
    started = time.perf_counter()
    while len(done) < actions:
        kind = rng.choices(["act", "comment", "bulk", "undo", "fix"], weights=[6, 3, 2, 1, 1])[0]
        if kind == "undo" and not bulk_ids:
            kind = "act"
        if kind in ("act", "comment"):
            sid, check = rng.choice(ids), rng.choice(CHECKS)
            action = "comment" if kind == "comment" else rng.choice(["confirm", "dismiss", "send_back", "reopen"])
            for _attempt in range(50):
                version = flag_now(ds, sid, check)["version"]
                try:
                    review.act(ds, sid, check, action, actor, version=version, note=f"{actor.name} {len(done)}",
                               assignee=actor.name if action == "confirm" else None)
                except ConflictError:
                    conflicts += 1
                    continue
                done.append([sid, check, action])
                break
        elif kind == "bulk":
            picked = rng.sample([(s, c) for s in ids for c in CHECKS], 3)
            action = rng.choice(["confirm", "dismiss"])
            items = [(s, c, flag_now(ds, s, c)["version"]) for s, c in picked]
            result = review.bulk(ds, items, action, actor)
            conflicts += len(result.conflicts)
            done += [[s, c, action] for s, c in result.done]
            if result.done:  # a bulk action that changed nothing has nothing to undo
                bulk_ids.append(result.bulk_id)
        elif kind == "undo":
            result = review.undo(ds, rng.choice(bulk_ids), actor)
            conflicts += len(result.conflicts)
            done += [[s, c, "undo"] for s, c in result.done]
        else:
            sid = rng.choice(ids)
            try:
                review.fix_label(ds, sid, actor, label=f"{actor.name}-{len(done)}")
            except ConflictError:
                conflicts += 1
                continue
            done.append([sid, None, "fix"])
    Path(out).write_text(json.dumps({"who": actor.name, "done": done, "conflicts": conflicts,
                                      "seconds": time.perf_counter() - started}))


def _drop_version_check(monkeypatch) -> None:
    """Sabotage for the negative tests: strip the version from every flag filter of this process's writes."""
    import fiftyone as fo

    real = fo.Dataset._sample_collection

    class Unguarded:
        def __init__(self, coll):
            self._coll = coll

        def __getattr__(self, attr):
            return getattr(self._coll, attr)

        def update_one(self, filter, update, *args, **kwargs):
            match = filter.get("flags", {}).get("$elemMatch")
            if match and "version" in match:
                filter = {**filter, "flags": {"$elemMatch": {k: v for k, v in match.items() if k != "version"}}}
            return self._coll.update_one(filter, update, *args, **kwargs)

    monkeypatch.setattr(fo.Dataset, "_sample_collection", property(lambda self: Unguarded(real.fget(self))))


def run_workers(name: str, tmp_path: Path, *, workers: int, actions: int) -> list[dict]:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(workers)
    outs = [tmp_path / f"worker-{i}.json" for i in range(workers)]
    procs = [ctx.Process(target=review_worker, args=(name, i, actions, barrier, str(outs[i])))
             for i in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=600)
    assert [p.exitcode for p in procs] == [0] * workers, "a worker failed; see its output above"
    return [json.loads(o.read_text()) for o in outs]


# --- the invariants ----------------------------------------------------------------

def inconsistencies(ds, logs: list[dict]) -> list[str]:
    """Every way in which the database disagrees with what the workers were told; empty if none."""
    problems = []
    told = Counter((sid, check, log["who"], action) for log in logs for sid, check, action in log["done"])
    recorded = list(review.history_collection(ds).find({"dataset": ds.name}))
    if len(recorded) != sum(told.values()):
        problems.append(f"{len(recorded)} history documents for {sum(told.values())} successful actions")
    in_collection = Counter((d["sample_id"], d["check"], d["who"], d["action"]) for d in recorded)
    if in_collection != told:
        problems.append(f"history collection differs from the actions: {(in_collection - told) + (told - in_collection)}")
    on_flags = Counter()
    for doc in ds._sample_collection.find({}, {"flags": 1, "tags": 1, "corrections": 1, "ground_truth": 1}):
        sid = str(doc["_id"])
        for flag in doc.get("flags") or []:  # a sample nothing flagged has none
            status, version = "open", 1
            for entry in flag.get("history") or []:
                if entry["before"] != status or entry["version"] != version + 1:
                    problems.append(f"{sid}/{flag['check']}: {entry['who']}'s {entry['action']} v{entry['version']} "
                                    f"from {entry['before']!r} follows v{version} {status!r}: a lost update")
                status, version = entry["after"], entry["version"]
                if entry["action"] != "fix":
                    on_flags[(sid, flag["check"], entry["who"], entry["action"])] += 1
            if (flag["status"], flag["version"]) != (status, version):
                problems.append(f"{sid}/{flag['check']}: {flag['status']} v{flag['version']}, history gives "
                                f"{status} v{version}")
        if flaglib.derived_tags(doc.get("tags"), doc.get("flags")) != doc.get("tags"):
            problems.append(f"{sid}: tags {doc.get('tags')} do not mirror its flags")
        fixes = [c for c in told.elements() if c[0] == sid and c[3] == "fix"]
        corrections = doc.get("corrections") or []
        if len(corrections) != len(fixes):
            problems.append(f"{sid}: {len(corrections)} corrections for {len(fixes)} fixes")
        elif corrections and doc["ground_truth"]["label"] != corrections[-1]["new_label"]:
            problems.append(f"{sid}: label {doc['ground_truth']['label']!r} is not the last fix's")
    flag_actions = Counter({k: n for k, n in told.items() if k[3] != "fix"})
    if on_flags != flag_actions:
        problems.append(f"flag histories differ from the actions: {(on_flags - flag_actions) + (flag_actions - on_flags)}")
    return problems


# --- the tests ----------------------------------------------------------------------

def test_eight_reviewers_at_once_lose_no_update(tmp_path, dataset_name):
    make_flagged(dataset_name, items=6)  # 12 flags for 8 reviewers: constant collisions
    started = time.perf_counter()
    logs = run_workers(dataset_name, tmp_path, workers=WORKERS, actions=ACTIONS_EACH)
    seconds = time.perf_counter() - started
    done = [len(log["done"]) for log in logs]
    assert min(done) >= ACTIONS_EACH
    ds = store.open_dataset(dataset_name)
    assert inconsistencies(ds, logs) == []
    conflicts = sum(log["conflicts"] for log in logs)
    assert conflicts > 0, "the workers never collided; the test proves nothing"
    kinds = Counter(a for log in logs for _, _, a in log["done"])
    assert set(kinds) == {"confirm", "dismiss", "send_back", "reopen", "comment", "undo", "fix"}
    busy = max(log["seconds"] for log in logs)
    print(f"\n{sum(done)} actions by {WORKERS} processes in {busy:.1f} s ({seconds:.1f} s with start-up), "
          f"{conflicts} conflicts refused; {dict(kinds)}")


def stale_write_problems(ds, sid: str) -> list[str]:
    """Ana acts on a flag Ben read earlier; what goes wrong when Ben then writes with his stale version."""
    seen = flag_now(ds, sid, "dark")["version"]
    review.act(ds, sid, "dark", "dismiss", Actor("ana"), version=seen, note="a shadow, not dark")
    before = ds._sample_collection.find_one({"_id": __import__("bson").ObjectId(sid)})
    problems = []
    try:
        review.act(ds, sid, "dark", "confirm", Actor("ben"), version=seen, assignee="ben")
        problems.append("a stale confirm was accepted")
    except ConflictError as exc:
        if "changed by ana" not in str(exc) or "dismissed" not in str(exc):
            problems.append(f"the refusal does not say who changed it to what: {exc}")
    after = ds._sample_collection.find_one({"_id": before["_id"]})
    if after != before:
        problems.append("the item changed")
    if [h["who"] for h in review.history(ds, sid)] != ["ana"]:
        problems.append("the history has more than ana's action")
    return problems


def test_a_stale_version_is_refused_naming_who_changed_it(dataset_name):
    ids = make_flagged(dataset_name, items=2)
    ds = store.open_dataset(dataset_name)
    assert stale_write_problems(ds, ids[0]) == []
    assert flag_now(ds, ids[0], "dark")["status"] == "dismissed"


def test_without_the_version_check_the_stale_write_would_overwrite(dataset_name, monkeypatch):
    """The same scenario with the version filter removed: the stale test above would fail."""
    ids = make_flagged(dataset_name, items=2)
    ds = store.open_dataset(dataset_name)
    _drop_version_check(monkeypatch)
    problems = stale_write_problems(ds, ids[0])
    assert "a stale confirm was accepted" in problems and "the item changed" in problems


@pytest.mark.parametrize("action", ["confirm", "comment"])
def test_a_fix_and_an_action_on_the_same_item_cannot_both_apply_unseen(dataset_name, action):
    """A label fix read before a review action is refused, not applied over it."""
    ids = make_flagged(dataset_name, items=1)
    ds = store.open_dataset(dataset_name)
    flag = flag_now(ds, ids[0], "dark")
    review.act(ds, ids[0], "dark", action, Actor("ana"), version=flag["version"])
    with pytest.raises(ConflictError, match="changed since you read it"):
        review.fix_label(ds, ids[0], Actor("ben"), label="dog", versions={"dark": flag["version"]})
    assert ds._sample_collection.find_one({})["ground_truth"]["label"] == "cat"


def test_a_slow_tag_mirror_never_overwrites_a_newer_one(dataset_name, monkeypatch):
    """Ana's confirm rebuilds the tags from the flags it read; Ben dismisses in between. The tags follow Ben.

    The interleaving the eight processes hit only by chance, made certain: Ben's
    whole action runs between Ana's read of the flags and her write of the tags.
    """
    ids = make_flagged(dataset_name, items=1)
    ds = store.open_dataset(dataset_name)
    sid, version = ids[0], flag_now(ds, ids[0], "dark")["version"]
    real = flaglib.derived_tags
    cut_in = []

    def derived_tags(tags, flags):
        if not cut_in:  # only in Ana's mirror, not again in Ben's
            cut_in.append("ben")
            review.act(ds, sid, "dark", "dismiss", Actor("ben"), version=version + 1)
        return real(tags, flags)

    monkeypatch.setattr(flaglib, "derived_tags", derived_tags)
    review.act(ds, sid, "dark", "confirm", Actor("ana"), version=version)
    flags, _, tags = store.read_flags(ds, [sid])[sid]
    assert cut_in and flag_now(ds, sid, "dark")["status"] == "dismissed"
    assert "review:dismissed" in tags and "review:confirmed" not in tags
    assert tags == real(tags, flags)
