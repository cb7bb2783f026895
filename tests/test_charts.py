"""Charts are functions returning Altair specs; tested through to_dict()."""

import pandas as pd
import pytest

from datasteward import charts as charts_module
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


def test_to_spec_ships_every_layer_dataset_as_arrow_and_keeps_the_selection():
    import pyarrow as pa

    from datasteward import charts

    frame = pd.DataFrame({"owner": ["ml", "ml", "data_ops"], "batch": ["b1", "b2", "b1"], "open_flags": [3, 0, 7],
                          "items_flagged": [2, 0, 5], "items": [10, 10, 10], "rate": [0.2, 0.0, 0.5],
                          "href": ["/review?a", None, "/review?b"]})
    layered = charts.ownership_heatmap(frame, "batch", sort=["b1", "b2"])
    plain = layered.to_dict()
    spec = charts.to_spec(layered)
    assert {k: v for k, v in spec.items() if k not in ("data", "datasets")} == \
        {k: v for k, v in plain.items() if k not in ("data", "datasets")}
    assert list(spec["datasets"]) == [spec["data"]["name"]]
    shipped = pa.ipc.open_stream(spec["datasets"][spec["data"]["name"]]).read_all().to_pandas()
    pd.testing.assert_frame_equal(shipped, frame)  # the frame as it is, missing link included
    # a clickable chart keeps its selection parameter, which st.vega_lite_chart(on_select="rerun") reports
    cells = pd.DataFrame({"group": ["b2"], "metric": ["snr_db"], "owner": ["data_ops"], "verdict": ["drift"],
                          "effect": [0.4], "p_adjusted": [0.01], "n": [30], "n_ref": [90], "signed": [2.0]})
    heat = charts.to_spec(charts.drift_heatmap(cells, groups=["b2"], metrics=["snr_db"]))
    assert [p["name"] for p in heat["params"]] == ["cell"] and heat["height"] == 160
    # no 5,000-row limit (Altair's default transformer refuses bigger frames)
    big = charts.to_spec(charts.count_bars(pd.DataFrame({"batch": [f"b{i}" for i in range(6000)], "samples": 1}),
                                           "batch"))
    assert pa.ipc.open_stream(next(iter(big["datasets"].values()))).read_all().num_rows == 6000


@pytest.mark.parametrize("builder, args, kwargs", charts_module.examples(), ids=[e[0] for e in charts_module.examples()])
def test_every_page_chart_is_valid_vega_lite(builder, args, kwargs):
    """The charts the pages draw (and `serve` draws once at start): each validates and ships its data as Arrow."""
    import pyarrow as pa

    chart = getattr(charts_module, builder)(*args, **kwargs)
    chart.to_dict()  # validates against the Vega-Lite schema; raises otherwise
    spec = charts_module.to_spec(chart)
    rows = sum(pa.ipc.open_stream(raw).read_all().num_rows for raw in spec["datasets"].values())
    assert rows == len(args[0])
