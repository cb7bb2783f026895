"""One shared MongoDB for everybody: indexes that the pages' queries use, and two apps and a scan at once on one server.

The index test records the commands that the browse, review and overview
code sends (a pymongo command listener) and asks the server to ``explain``
each one: the winning plan reads an index, never the whole collection.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest

from datasteward import browse, overview, review, store
from datasteward import flags as flaglib
from datasteward.browse import Filters

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
