"""One shared MongoDB for everybody: indexes that the pages' queries use, and two apps and a scan at once on one server.

The index tests record the commands that the browse, review and overview
code sends (a pymongo command listener) and ask the server to ``explain``
each one: the winning plan reads an index, never the whole collection.

The multi-process test runs two Review pages (AppTest, each in its own
process and MongoDB client) and ``datasteward scan`` against one real
``mongod`` of its own (:mod:`mongod`), then checks that what each page told
its user is exactly what the database holds.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path

import pytest

from datasteward import browse, overview, review, store
from datasteward import flags as flaglib
from datasteward.browse import Filters
from test_review import flagged  # noqa: F401  (fixture)

REPO = Path(__file__).resolve().parents[1]

# --- indexes --------------------------------------------------------------------------

N = 60
IMAGE_METRICS = ("brightness_mean", "sharpness")
AUDIO_METRICS = ("snr_db", "duration_s")


def make_metrics_dataset(name: str) -> list[str]:
    """``N`` samples without media: images and clips in 3 batches, 2 languages and 2 vendors, metrics and flags.

    Sample ``i``: image when ``i`` is even; brightness ``i / N`` (images) or SNR ``i`` dB (clips); a ``dark``
    flag, open, on every fourth sample, confirmed for ana on every eighth.
    """
    ds = store.open_dataset(name, create=True)
    store.ensure_label_field(ds, "classification")
    store.add_samples(ds, [{"filepath": f"/nowhere/{i}.jpg", "media_path": f"/nowhere/{i}.jpg", "item_key": f"k{i}",
                            "modality": "image" if i % 2 == 0 else "audio", "label": "cat", "batch": f"b{i % 3}",
                            "language": ("en", "de")[i % 2], "vendor": ("va", "vb")[i % 4 // 2]} for i in range(N)])
    store.ensure_scan_fields(ds)
    ids = ds.values("id")
    metrics = {sid: {"quality": dict.fromkeys(IMAGE_METRICS, i / N) if i % 2 == 0 else dict.fromkeys(AUDIO_METRICS, float(i))}
               for i, sid in enumerate(ids)}
    store.write_fields(ds, metrics, embedded={"quality"})
    now = datetime(2026, 11, 27, 12, 0)
    updates = []
    for i, sid in enumerate(ids):
        if i % 4:
            continue
        flag = flaglib.new_flag({"check": "dark", "owner": "data_ops", "severity": "high", "score": i / N,
                                 "threshold": 0.1}, now=now)
        if i % 8 == 0:
            flag.update(status="confirmed", assignee="ana")
        updates.append((sid, 0, [flag], flaglib.derived_tags([], [flag])))
    assert store.write_flags(ds, updates) == []
    return ids


def recorder(collection: str):
    """A pymongo command listener that keeps the query commands sent to ``collection`` (in its ``commands``)."""
    from pymongo import monitoring

    class Recorder(monitoring.CommandListener):
        QUERIES = ("find", "aggregate", "count", "distinct")
        commands: list[dict] = []

        def started(self, event):
            if event.command_name in self.QUERIES and event.command.get(event.command_name) == collection:
                drop = {"lsid", "$db", "$clusterTime", "$readPreference", "txnNumber", "apiVersion"}
                self.commands.append({k: v for k, v in event.command.items() if k not in drop})

        def succeeded(self, event):
            pass

        def failed(self, event):
            pass

    return Recorder()


def plan_stages(explained) -> list[str]:
    """Every stage name of the winning plans in an ``explain`` answer (a pipeline may hold several)."""
    found = []

    def stages(node):
        if isinstance(node, dict):
            if isinstance(node.get("stage"), str):
                found.append(node["stage"])
            for key, value in node.items():
                if key != "rejectedPlans":
                    stages(value)
        elif isinstance(node, list):
            for value in node:
                stages(value)

    def winning(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "winningPlan":
                    stages(value)
                elif key != "rejectedPlans":
                    winning(value)
        elif isinstance(node, list):
            for value in node:
                winning(value)

    winning(explained)
    return found


@pytest.fixture(scope="module")
def metrics_dataset() -> str:
    name = f"t-{uuid.uuid4().hex[:10]}"
    make_metrics_dataset(name)
    # Counted once per import and kept in the database (a full pass, like the import itself); pages read it.
    store.summary(store.open_dataset(name))
    yield name
    store.delete_dataset(name)


@pytest.fixture
def recorded(metrics_dataset, monkeypatch):
    """The metrics dataset, and a function that runs a call and returns the plan stages of each query it sent."""
    import fiftyone as fo
    import fiftyone.core.odm as foo
    from pymongo import MongoClient

    ds = store.open_dataset(metrics_dataset)
    db_name, coll_name = foo.get_db_conn().name, ds._sample_collection.name
    listener = recorder(coll_name)
    host, port = foo.get_db_conn().client.address
    client = MongoClient(host, port, event_listeners=[listener])
    # Every query of the library goes through `_sample_collection`; here through the listening client.
    monkeypatch.setattr(fo.Dataset, "_sample_collection", property(lambda self: client[db_name][coll_name]))

    def plans(call) -> list[tuple[str, list[str]]]:
        listener.commands.clear()
        call(ds)
        assert listener.commands, "the call sent no query"
        return [(repr(cmd)[:300], plan_stages(client[db_name].command("explain", cmd, verbosity="queryPlanner")))
                for cmd in listener.commands]

    yield ds, plans
    client.close()


def test_the_page_fields_are_indexed(recorded):
    ds, _ = recorded
    indexed = {spec["key"][0][0] for spec in ds._sample_collection.index_information().values()}
    wanted = {"batch", "language", "vendor", "modality", "flags.check", "flags.status", "flags.owner", "agreement",
              "prediction.confidence", *(f"quality.{m}" for m in IMAGE_METRICS + AUDIO_METRICS)}
    assert wanted <= indexed
    assert len(ds._sample_collection.index_information()) <= store.MAX_INDEXES - 8
    assert store.ensure_indexes(ds) == []  # idempotent


# Not here: overview.kpis, which counts every sample in one pass (a collection scan by nature; at scale
# it wants a pre-aggregated table), and store.summary's recount, kept in the database once per import.
PAGE_QUERIES = {
    "images sorted by a metric": lambda ds: browse.page(ds, Filters(modality="image"), sort_by="brightness_mean"),
    "images sorted by a metric, descending, page 2": lambda ds: browse.page(
        ds, Filters(modality="image"), sort_by="brightness_mean", descending=True, skip=24, limit=24),
    "clips of a batch and language by SNR": lambda ds: browse.page(
        ds, Filters(modality="audio", batch=["b1"], language=["de"]), sort_by="snr_db", descending=True),
    "images in a metric range": lambda ds: browse.page(
        ds, Filters(modality="image", metric="brightness_mean", lo=0.1, hi=0.3)),
    "images of a vendor with open dark flags": lambda ds: browse.page(
        ds, Filters(modality="image", vendor=["va"], check=["dark"], status=["open"]), sort_by="agreement"),
    "images sorted by confidence": lambda ds: browse.page(ds, Filters(modality="image"),
                                                          sort_by="prediction.confidence"),
    "filter options": lambda ds: browse.facets(ds, "image"),
    "review queue": lambda ds: review.queue(ds, status="open"),
    "review queue of an owner and check": lambda ds: review.queue(ds, status="open", owner=["data_ops"],
                                                                  check=["dark"]),
    "review queue of a batch and language": lambda ds: review.queue(ds, status="open", batch=["b0"],
                                                                    language=["en"]),
    "my queue": lambda ds: review.queue(ds, status="confirmed", assignee="ana"),
    "top problems": overview.top_problems,
    "ownership matrix": overview.ownership,
}


@pytest.mark.parametrize("call", PAGE_QUERIES.values(), ids=PAGE_QUERIES.keys())
def test_a_page_query_reads_an_index_not_the_collection(recorded, call):
    _, plans = recorded
    for command, stages in plans(call):
        assert "COLLSCAN" not in stages, f"{command} scans the collection: {stages}"
        # RECORD_STORE_FAST_COUNT: a count of everything, read from the collection's metadata
        assert {"IXSCAN", "DISTINCT_SCAN", "COUNT_SCAN", "IDHACK", "RECORD_STORE_FAST_COUNT"} & set(stages), \
            f"{command}: {stages}"


@pytest.mark.parametrize("descending", [False, True], ids=["ascending", "descending"])
def test_a_sorted_page_comes_in_index_order_without_sorting(recorded, descending):
    """The (metric, _id) index gives the order, so a page of 100,000 samples reads one page, not all of them."""
    _, plans = recorded
    call = lambda ds: browse.page(ds, Filters(modality="image"), sort_by="brightness_mean",  # noqa: E731
                                  descending=descending, limit=5)
    stages = dict(plans(call))
    find = next(stages[c] for c in stages if c.startswith("{'find'"))
    assert "IXSCAN" in find and "SORT" not in find, find


# --- two apps and a scan on one server ---------------------------------------------------
#
# Every process below is a child started with FIFTYONE_DATABASE_URI pointing at the session's own mongod
# (the `shared_mongod` fixture); this process stays on its own database and only reads what they report.
# The children are this file run as a script (`python test_shared_db.py ROLE CONFIG`); they meet through
# files in a shared folder.

APPS = ("ana", "ben")
MIN_ACTIONS = 6  # each app acts this often before the scan starts, and again after it ended
MAX_ACTIONS = 150
DARKENED = 4


def build_delivery(root: Path, name: str) -> None:
    """12 held-out photos, the first four darkened beyond use (open `dark` flags), imported and scanned."""
    from datasteward.ingest import import_source
    from datasteward.scan import scan
    from test_scan import heldout_delivery

    delivery = heldout_delivery(root, images=12, clips=0)
    for path in sorted((delivery / "images").rglob("*.jpg"))[:DARKENED]:
        darken(path)
    import_source(delivery / "manifest.csv", name)
    scan(name, workers=1)


def darken(path: Path) -> None:
    import numpy as np
    from PIL import Image

    with Image.open(path) as im:
        Image.fromarray((np.asarray(im.convert("RGB")) * 0.03).astype(np.uint8)).save(path, quality=90)


def flag_keys(ds) -> dict[str, list]:
    """Each flag as the Review page names it (``img_001.jpg · dark``) -> [sample id, check]."""
    names = dict(zip(ds.values("id"), ds.values("media_path")))
    return {f"{Path(names[sid]).name} · {f['check']}": [sid, f["check"]]
            for sid, (flags, _, _) in store.read_flags(ds).items() for f in flags}


def server_of() -> dict:
    """The server address and database name this process's FiftyOne client uses."""
    import fiftyone.core.odm as foo

    db = foo.get_db_conn()
    return {"address": list(db.client.address), "database": db.name}


def wait_for(path: Path, *, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path.name} never appeared")
        time.sleep(0.05)


def child_setup(cfg: dict) -> dict:
    build_delivery(Path(cfg["folder"]), cfg["name"])
    return {**server_of(), "flags": flag_keys(store.open_dataset(cfg["name"]))}


def child_app(cfg: dict) -> dict:
    """One reviewer on the Review page (AppTest), acting on its own and on shared flags until the scan is over."""
    import random

    from streamlit.testing.v1 import AppTest

    me, folder = cfg["user"], Path(cfg["folder"])
    os.environ["DATASTEWARD_USER"] = me  # who the page records (no login configured)
    store.open_dataset(cfg["name"])
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.query_params["dataset"] = cfg["name"]
    at.run()
    at.switch_page("pages/review.py").run()
    assert not at.exception, at.exception
    (folder / f"ready-{me}").touch()
    wait_for(folder / "go")
    rng = random.Random(me)
    mine, log, after_scan = set(cfg["keys"]), [], 0
    moves = {"open": ["confirm", "dismiss", "comment"], "confirmed": ["dismiss", "comment", "reopen"],
             "dismissed": ["reopen", "comment"]}
    while len(log) < MAX_ACTIONS and after_scan < MIN_ACTIONS:
        scanned = (folder / "scan-done").exists()
        status = rng.choice(list(moves))
        at.selectbox(key="rv_status").set_value(status).run()
        if not [w for w in at.multiselect if w.key == "rv_selected"]:  # an empty queue has nothing to pick
            continue
        action = rng.choice(moves[status])
        try:
            at.text_input(key="rv_assignee").set_value(me if action == "confirm" else "").run()
            at.text_input(key="rv_note").set_value(f"{me} {len(log)}").run()
        except KeyError:  # the other reviewer emptied this queue meanwhile: nothing left to fill in
            continue
        shown = [w.options for w in at.multiselect if w.key == "rv_selected"]  # as drawn on the last run
        options = [o for o in (shown[0] if shown else []) if o in mine]
        if not options:
            continue
        picked = rng.sample(options, min(len(options), rng.randint(1, 3)))
        log.append(press(at, picked, action))
        after_scan += scanned
        (folder / f"acted-{me}.tmp").write_text(str(len(log)))
        os.replace(folder / f"acted-{me}.tmp", folder / f"acted-{me}")  # whole, never half-written
    # The duel: both have the same flag on screen; ana acts first, then ben acts on what he saw.
    duel, first = cfg["duel"], me == APPS[0]
    at.selectbox(key="rv_status").set_value(cfg["duel_status"]).run()
    at.text_input(key="rv_assignee").set_value(me).run()
    at.multiselect(key="rv_selected").set_value([duel]).run()
    (folder / f"duel-ready-{me}").touch()
    wait_for(folder / f"duel-ready-{APPS[1]}" if first else folder / f"duel-done-{APPS[0]}")
    log.append(press(at, [duel], "confirm" if first else "dismiss", select=False))  # no redraw in between
    (folder / f"duel-done-{me}").touch()
    return {**server_of(), "user": me, "log": log}


def press(at, picked: list[str], action: str, *, select: bool = True) -> dict:
    """Select ``picked`` (unless already on screen), press ``action`` and return what the page told the user."""
    if select:
        at.multiselect(key="rv_selected").set_value(picked).run()
    before = at.session_state["rv_last_bulk"] if "rv_last_bulk" in at.session_state else None
    at.button(key=f"rv_do_{action}").click().run()
    assert not at.exception, at.exception
    said = [s.value for s in at.success]
    done = next((int(m.group(1)) for s in said if (m := re.search(r"(\d+) flags updated", s))), None)
    bulk = at.session_state["rv_last_bulk"] if "rv_last_bulk" in at.session_state else None
    return {"action": action, "picked": picked, "done": done, "bulk_id": bulk if bulk != before else None,
            "warnings": [w.value for w in at.warning], "errors": [e.value for e in at.error]}


def child_verify(cfg: dict) -> dict:
    from test_concurrency import inconsistencies

    ds = store.open_dataset(cfg["name"])
    history = list(review.history_collection(ds).find({"dataset": ds.name}, {"_id": 0}))
    flags = {sid: flags for sid, (flags, _, _) in store.read_flags(ds).items()}
    changed = ds._sample_collection.find_one({"media_path": cfg["changed"]}, {"quality": 1, "scan_state": 1, "flags": 1})
    return {**server_of(), "problems": inconsistencies(ds, cfg["logs"]), "history": history, "flags": flags,
            "changed": {k: changed.get(k) for k in ("quality", "scan_state", "flags")}}


def run_children(role_configs: list[tuple[str, dict]], folder: Path, env: dict) -> list[subprocess.Popen]:
    procs = []
    for role, cfg in role_configs:
        path = folder / f"{role}-{cfg.get('user', 'x')}.json"
        path.write_text(json.dumps({**cfg, "env": {k: env[k] for k in ("FIFTYONE_DATABASE_NAME", "DATASTEWARD_HOME")}}))
        procs.append(subprocess.Popen([sys.executable, __file__, role, str(path)], env=env, cwd=REPO))
    return procs


def results(procs: list[subprocess.Popen], folder: Path, role_configs) -> list[dict]:
    """What each child reported; when one fails, the others (which may be waiting for it) are ended."""
    while any(p.poll() is None for p in procs) and all(p.poll() in (None, 0) for p in procs):
        time.sleep(0.1)
    for p in procs:
        if p.poll() is None:
            p.kill()
    codes = [p.wait() for p in procs]
    assert codes == [0] * len(procs), f"a child failed ({codes}); see its output above"
    return [json.loads((folder / f"{role}-{cfg.get('user', 'x')}.out.json").read_text()) for role, cfg in role_configs]


def child(role: str, cfg: dict, folder: Path, env: dict) -> dict:
    return results(run_children([(role, cfg)], folder, env), folder, [(role, cfg)])[0]


def conflicts_named(warnings: list[str]) -> set[tuple[str, str]]:
    """(sample id, check) of each conflict the page reported."""
    named = (re.match(r"(\S+) on ([0-9a-f]{24}) was (changed by|removed)", w) for w in warnings)
    return {(m.group(2), m.group(1)) for m in named if m}


def test_two_apps_and_a_scan_at_once_on_one_server_lose_nothing(shared_mongod, tmp_path):
    """Ana and Ben review on two app processes while `datasteward scan` runs: every reported action is recorded.

    Each app acts on flags of its own and on flags both of them act on, through the Review page's widgets,
    from before the scan starts until after it ends. A photo darkened after the first scan must come out of
    the second one flagged. Finally both have the same flag on screen; Ana confirms it, and Ben's dismiss
    of the version he saw must be refused with her name, not laid over her decision.
    """
    import fiftyone.core.odm as foo

    db_name, name = f"datasteward_shared_{uuid.uuid4().hex[:8]}", "shared"
    env = {**os.environ, "FIFTYONE_DATABASE_URI": shared_mongod, "FIFTYONE_DATABASE_NAME": db_name,
           "DATASTEWARD_HOME": str(tmp_path / "home"), "PYTHONPATH": str(Path(__file__).parent)}
    env.pop("FIFTYONE_DATABASE_DIR", None)
    server = {"address": ["127.0.0.1", int(shared_mongod.rsplit(":", 1)[1])], "database": db_name}

    setup = child("setup", {"folder": str(tmp_path), "name": name}, tmp_path, env)
    assert {k: setup[k] for k in server} == server
    keys = sorted(setup["flags"])
    dark = sorted(k for k in keys if k.endswith("· dark"))
    assert len(dark) == DARKENED
    duel, free = dark[0], [k for k in keys if k != dark[0]]
    both = free[0::3]
    own = {"ana": free[1::3] + both, "ben": free[2::3] + both}
    photos = sorted((tmp_path / "delivery" / "images").rglob("*.jpg"))
    changed = photos[DARKENED + 2]  # bright until now
    darken(changed)

    apps = [("app", {"folder": str(tmp_path), "name": name, "user": who, "keys": own[who], "duel": duel,
                     "duel_status": "open"}) for who in APPS]
    app_procs = run_children(apps, tmp_path, env)
    for who in APPS:
        wait_for(tmp_path / f"ready-{who}")
    (tmp_path / "go").touch()
    for who in APPS:  # both are busy before the scan starts...
        while int((tmp_path / f"acted-{who}").read_text() if (tmp_path / f"acted-{who}").exists() else 0) < MIN_ACTIONS:
            if any(p.poll() is not None for p in app_procs):
                results(app_procs, tmp_path, apps)  # fails, naming the exit codes
            time.sleep(0.1)
    scan = subprocess.run([str(Path(sys.executable).parent / "datasteward"), "scan", name, "--workers", "1", "--quiet"],
                          env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
    (tmp_path / "scan-done").touch()  # ...and after it ends
    assert scan.returncode == 0, scan.stderr
    logs = results(app_procs, tmp_path, apps)

    told, conflicts = [], 0
    for log in logs:
        assert {k: log[k] for k in server} == server
        assert len(log["log"]) > 2 * MIN_ACTIONS
        for step in log["log"]:
            assert step["errors"] == [], step
            refused = conflicts_named(step["warnings"])
            assert len(refused) == len(step["warnings"]), step  # every warning names a conflict
            picked = {tuple(setup["flags"][k]) for k in step["picked"]}
            assert refused <= picked and step["done"] == len(picked - refused), step
            conflicts += len(refused)
            done = sorted(picked - refused)
            told.append({"who": log["user"], "done": [[sid, check, step["action"]] for sid, check in done],
                         "bulk_id": step["bulk_id"]})

    facts = child("verify", {"name": name, "logs": told, "changed": str(changed.resolve())}, tmp_path, env)
    assert {k: facts[k] for k in server} == server
    assert db_name not in foo.get_db_conn().client.list_database_names()  # this process never used it
    assert facts["problems"] == []
    for step in told:  # the page's own record of each action: exactly the flags it said it changed
        if step["done"]:
            recorded = sorted([h["sample_id"], h["check"], h["action"]] for h in facts["history"]
                              if h.get("bulk_id") == step["bulk_id"])
            assert recorded == sorted(step["done"]) and {h["who"] for h in facts["history"]
                                                         if h.get("bulk_id") == step["bulk_id"]} == {step["who"]}

    overlap = [{h["who"] for h in facts["history"] if [h["sample_id"], h["check"]] == setup["flags"][k]} for k in both]
    assert {"ana", "ben"} in overlap, overlap  # both acted on one and the same flag

    duel_sid, _ = setup["flags"][duel]
    ana_duel, ben_duel = logs[0]["log"][-1], logs[1]["log"][-1]
    assert (ana_duel["action"], ana_duel["done"]) == ("confirm", 1)
    assert ben_duel["done"] == 0 and len(ben_duel["warnings"]) == 1
    assert "changed by ana" in ben_duel["warnings"][0] and "confirmed" in ben_duel["warnings"][0]
    duel_flag = next(f for f in facts["flags"][duel_sid] if f["check"] == "dark")
    assert (duel_flag["status"], duel_flag["assignee"], duel_flag["updated_by"]) == ("confirmed", "ana", "ana")

    # the scan's results: the darkened photo measured anew and flagged
    assert facts["changed"]["quality"]["brightness_mean"] < 0.1
    assert facts["changed"]["scan_state"]["size"] == changed.stat().st_size
    assert [(f["check"], f["status"], f["created_by"]) for f in facts["changed"]["flags"]] == [("dark", "open", "auto")]
    print(f"\n{len(told)} actions by two apps ({conflicts} conflicts reported) while the scan ran: "
          f"{scan.stdout.strip().splitlines()[-1]}")


def test_a_flag_a_rescan_removed_meanwhile_is_a_conflict_and_the_bulk_goes_on(dataset_name):
    """Picked on screen, then dropped by a rescan (its finding no longer holds): refused by name, not an error."""
    from test_concurrency import make_flagged

    ids = make_flagged(dataset_name, items=2)
    ds = store.open_dataset(dataset_name)
    flags, rev, tags = store.read_flags(ds, [ids[0]])[ids[0]]
    kept = [f for f in flags if f["check"] != "dark"]
    assert store.write_flags(ds, [(ids[0], rev, kept, flaglib.derived_tags(tags, kept))]) == []
    result = review.bulk(ds, [(ids[0], "dark", 1), (ids[1], "dark", 1)], "dismiss", review.Actor("ana"))
    assert result.done == [(ids[1], "dark")]
    [(sid, check, message)] = result.conflicts
    assert (sid, check) == (ids[0], "dark") and message.startswith(f"dark on {ids[0]} was removed since you read it")
    assert [h["sample_id"] for h in review.history(ds)] == [ids[1]]
    done = review.bulk(ds, [(i, "blurry", 1) for i in ids], "confirm", review.Actor("ana"))
    flags, rev, tags = store.read_flags(ds, [ids[1]])[ids[1]]
    kept = [f for f in flags if f["check"] != "blurry"]
    assert store.write_flags(ds, [(ids[1], rev, kept, flaglib.derived_tags(tags, kept))]) == []
    undone = review.undo(ds, done.bulk_id, review.Actor("ana"))  # one of the two is gone: the other is undone
    assert undone.done == [(ids[0], "blurry")] and [c[:2] for c in undone.conflicts] == [(ids[1], "blurry")]


def test_the_review_page_acts_on_what_it_showed(flagged):  # noqa: F811
    """The same thing in one process, step by step: one's own actions never conflict, another's always do."""
    from test_review_page import open_review

    ds, _ = flagged
    at = open_review(ds.name)
    at.multiselect(key="rv_check").set_value(["dark"]).run()
    first, second = at.multiselect(key="rv_selected").options[:2]
    at.multiselect(key="rv_selected").set_value([first]).run()
    at.button(key="rv_do_comment").click().run()  # still open, so still in the queue and still picked
    assert at.multiselect(key="rv_selected").value == [first]
    at.button(key="rv_do_confirm").click().run()
    assert "confirm: 1 flags updated" in at.success[0].value and not at.warning
    assert at.multiselect(key="rv_selected").value == []  # confirmed: it left the open queue, and the selection
    at.multiselect(key="rv_selected").set_value([second]).run()
    sid, check = flag_keys(ds)[second]
    review.act(ds, sid, check, "dismiss", review.Actor("ben"), version=1)  # meanwhile, on another app
    at.button(key="rv_do_confirm").click().run()
    assert "confirm: 0 flags updated" in at.success[0].value
    assert f"{check} on {sid} was changed by ben" in at.warning[0].value
    assert [(h["who"], h["action"]) for h in review.history(ds, sid)] == [("ben", "dismiss")]


if __name__ == "__main__":
    import shutil

    import conftest  # imported with the test modules above; it names a database and home of its own: undo that

    role, config = sys.argv[1], Path(sys.argv[2])
    cfg = json.loads(config.read_text())
    os.environ.update(cfg["env"])  # before FiftyOne is imported
    result = {"setup": child_setup, "app": child_app, "verify": child_verify}[role](cfg)
    config.with_suffix(".out.json").write_text(json.dumps(result, default=str))
    shutil.rmtree(conftest._ROOT, ignore_errors=True)
