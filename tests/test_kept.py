"""Results kept in the database until the dataset changes (`store.kept`), as the Overview, Expectations,
Review and Scorecard pages read them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from datasteward import store


def counting(value):
    calls = []

    def compute(ds):
        calls.append(1)
        return value() if callable(value) else value

    return compute, calls


def test_a_kept_result_is_read_back_until_a_write_or_a_new_sample(dataset_name):
    ds = store.open_dataset(dataset_name, create=True)
    store.add_samples(ds, [{"filepath": f"/nowhere/{i}.jpg", "modality": "image", "batch": "b1"} for i in range(3)])
    compute, calls = counting(lambda: {"n": ds.count()})
    assert store.kept(ds, "n", compute) == {"n": 3}
    assert store.kept(ds, "n", compute) == {"n": 3} and len(calls) == 1
    store.touch(ds)  # any write through Data Steward: a review action, a scan, a rejected batch
    assert store.kept(ds, "n", compute) == {"n": 3} and len(calls) == 2
    store.add_samples(ds, [{"filepath": "/nowhere/new.jpg", "modality": "image", "batch": "b2"}])
    assert store.kept(ds, "n", compute) == {"n": 4} and len(calls) == 3
    # Another key is another result; deleting the dataset forgets them all.
    other, other_calls = counting(7)
    assert store.kept(ds, "other", other) == 7 and len(other_calls) == 1
    store.delete_dataset(dataset_name)
    import fiftyone.core.odm as foo

    assert foo.get_db_conn()[store.KEPT].count_documents({"_id.dataset": dataset_name}) == 0


def test_frames_come_back_with_their_values_and_types(dataset_name):
    ds = store.open_dataset(dataset_name, create=True)
    frame = pd.DataFrame({"owner": ["ml", "data_ops"], "open": np.array([3, 0]), "rate": [0.25, np.nan],
                          "examples": [[{"id": "a"}], []]})
    value = {"kpis": {"samples": np.int64(4), "alpha": None}, "table": frame, "pair": [1, "x"]}
    store.kept(ds, "value", lambda _: value)
    back = store.kept(ds, "value", lambda _: 1 / 0)  # read back, not computed
    pd.testing.assert_frame_equal(back["table"], frame)
    assert back["kpis"] == {"samples": 4, "alpha": None} and back["pair"] == [1, "x"]


def test_a_value_the_database_cannot_hold_is_computed_every_time(dataset_name):
    ds = store.open_dataset(dataset_name, create=True)
    compute, calls = counting(lambda: {"big": 2**70})
    assert store.kept(ds, "big", compute) == {"big": 2**70}
    assert store.kept(ds, "big", compute) == {"big": 2**70} and len(calls) == 2


def test_refresh_info_reads_what_another_process_wrote_without_reloading(dataset_name):
    import fiftyone.core.odm as foo

    ds = store.open_dataset(dataset_name, create=True)
    datasets = foo.get_db_conn().datasets
    datasets.update_one({"_id": ds._doc.id}, {"$set": {"info.scan": {"alpha": 0.5}}})  # as a scan elsewhere does
    loaded = datasets.find_one({"_id": ds._doc.id})["last_loaded_at"]
    assert "scan" not in (ds.info or {})  # this process's object is stale
    info = store.refresh_info(ds)
    assert info["scan"] == {"alpha": 0.5} and ds.info["scan"] == {"alpha": 0.5}
    assert "datasteward_schema" in info  # the rest of the info is still there
    assert datasets.find_one({"_id": ds._doc.id})["last_loaded_at"] == loaded  # nothing written
