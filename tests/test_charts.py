"""Charts are functions returning Altair specs; tested through to_dict()."""

import pandas as pd

from datasteward.charts import count_bars


def test_count_bars_keeps_the_given_order_and_every_label():
    frame = pd.DataFrame({"batch": ["b01", "b02", "b03"], "samples": [5, 7, 1]})
    spec = count_bars(frame, "batch", sort=["b01", "b02", "b03"]).to_dict()
    assert spec["mark"]["type"] == "bar"
    assert spec["encoding"]["y"]["sort"] == ["b01", "b02", "b03"]
    assert spec["encoding"]["y"]["axis"]["labelOverlap"] is False
    assert spec["encoding"]["x"]["field"] == "samples"
    assert spec["title"] == "Samples by batch"


def test_count_bars_defaults_to_longest_first():
    frame = pd.DataFrame({"vendor": ["a", "b"], "samples": [1, 2]})
    assert count_bars(frame, "vendor").to_dict()["encoding"]["y"]["sort"] == "-x"
