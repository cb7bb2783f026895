"""The Home page through AppTest: a link can carry an import's source and defaults, and importing from it works."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from conftest import REPO
from datasteward import store
from test_scan import heldout_delivery


def test_a_link_prefills_the_import_form_and_the_import_runs(tmp_path, dataset_name):
    source = heldout_delivery(tmp_path, images=3, clips=1) / "manifest.csv"
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.query_params.update({"import_source": str(source), "import_format": "manifest", "import_vendor": "zeta",
                            "import_language": "<b>xx</b>"})
    at.run()
    assert not at.exception
    assert at.text_input(key="import_source").value == str(source)
    assert at.selectbox(key="import_format").value == "manifest"
    assert at.text_input(key="import_vendor").value == "zeta"
    at.text_input(key="import_name").set_value(dataset_name)
    at.text_input(key="import_language").set_value("sw")
    next(b for b in at.button if b.label == "Import").click().run()
    assert not at.exception, at.exception
    ds = store.open_dataset(dataset_name)
    assert ds.count() == 4
    assert set(ds.values("vendor")) == {"acme"}  # the manifest names its vendor; the default fills only gaps
    assert set(ds.values("language")) == {"en"}
    assert at.query_params["import_language"] in ("sw", ["sw"])  # the submitted value went back into the link


def test_a_link_with_an_unknown_format_falls_back_with_a_warning():
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.query_params.update({"import_format": "<excel>"})
    at.run()
    assert not at.exception
    assert at.selectbox(key="import_format").value == "auto"
    assert any("'<excel>' not found" in w.value for w in at.warning)
