"""Home: pick or import a dataset, and see its size by modality, batch, language and vendor."""

from pathlib import Path

import pandas as pd
import streamlit as st

from datasteward import store, ui
from datasteward.errors import DataStewardError
from datasteward.importers import FORMATS
from datasteward.ingest import import_source


def import_form() -> None:
    with st.form("import", clear_on_submit=False):
        st.subheader("Import a delivery")
        left, right = st.columns(2)
        name = left.text_input("Dataset name", value=st.session_state.get("dataset_name") or "", key="import_name")
        fmt = ui.param_select("Format", FORMATS, key="import_format", param="import_format", container=right)
        source = ui.param_text("Folder or manifest on the server", key="import_source", param="import_source",
                               help="A path on the machine running Data Steward; a link can carry it "
                                    "(`?import_source=/data/delivery-07`).")
        upload = st.file_uploader("…or upload a manifest", type=["csv", "tsv", "jsonl", "json"], key="import_upload")
        media_root = st.text_input("Media folder for an uploaded manifest (its paths are relative to this)",
                                   key="import_media_root")
        a, b, c = st.columns(3)
        batch = ui.param_text("Batch (default for rows without one)", key="import_batch", param="import_batch",
                              container=a)
        language = ui.param_text("Language (BCP-47)", key="import_language", param="import_language", container=b)
        vendor = ui.param_text("Vendor", key="import_vendor", param="import_vendor", container=c)
        strict = st.checkbox("Strict: abort if any row or file has a problem", key="import_strict")
        submitted = st.form_submit_button("Import")
    if not submitted:
        return
    if not name.strip():
        st.error("Give the dataset a name.")
        return
    try:
        path, base = _source_path(source, upload, media_root)
    except DataStewardError as exc:
        st.error(str(exc))
        return
    bar = st.progress(0.0, text="Reading the source…")
    try:
        report = import_source(
            path, name.strip(), fmt=fmt, batch=batch or None, language=language or None, vendor=vendor or None,
            strict=strict, base=base,
            progress=lambda done, total, stage: bar.progress(done / max(total, 1), text=f"{stage}: {done}/{total}"),
        )
    except DataStewardError as exc:
        bar.empty()
        st.error(str(exc))
        return
    bar.empty()
    (st.warning if report.aborted or report.errors else st.success)(report.summary())
    if report.problems:
        st.dataframe(pd.DataFrame([vars(p) for p in report.problems]), hide_index=True, key="import_problems")
    ui.dataset_names.clear()


def scan_button(name: str) -> None:
    from datasteward.scan import scan

    info = ui.scan_info(name, ui.dataset_stamp(name))
    last = info.get("finished_at")
    st.caption(f"Last scan: {last}" if last else "Not scanned yet: run a scan to compute quality metrics and flags.")
    if not st.button("Scan for quality problems", key="scan_button", type="primary" if not last else "secondary"):
        return
    bar = st.progress(0.0, text="Starting the scan…")
    try:
        report = scan(name, progress=lambda done, total, stage: bar.progress(done / max(total, 1), text=f"{stage}: {done}/{total}"))
    except DataStewardError as exc:
        bar.empty()
        st.error(str(exc))
        return
    bar.empty()
    st.success(report.summary())
    for path, message in report.errors[:20]:
        st.warning(f"{path}: {message}")


def _source_path(source: str, upload, media_root: str) -> tuple[Path, Path | None]:
    if upload is not None:
        if not media_root.strip():
            raise DataStewardError("An uploaded manifest needs the media folder its paths are relative to.")
        root = Path(media_root).expanduser()
        if not root.is_dir():
            raise DataStewardError(f"{root}: media folder not found on the server")
        target = Path(_upload_dir()) / Path(upload.name).name
        target.write_bytes(upload.getvalue())
        return target, root.resolve()
    if not source.strip():
        raise DataStewardError("Give a folder or manifest path, or upload a manifest.")
    return Path(source).expanduser(), None


def _upload_dir() -> str:
    from datasteward.config import derived_dir

    return str(derived_dir("uploads"))


st.title("Data Steward")
st.caption("Owned quality for annotated images, speech, labels and transcripts.")
name = st.session_state.get("dataset_name")
if name is None:
    st.info("No datasets yet. Import one below, or run `make run` to load the bundled demo.")
    import_form()
    st.stop()

ds_stamp = ui.dataset_stamp(name)
summary = ui.cached_summary(name, ds_stamp)
st.subheader(f"{name}: {ds_stamp[0]:,} samples")
modality = summary["modality"].set_index("modality")["samples"]
cols = st.columns(5)
cols[0].metric("Images", f"{int(modality.get('image', 0)):,}")
cols[1].metric("Audio clips", f"{int(modality.get('audio', 0)):,}")
for col, field, label in [(cols[2], "batch", "Batches"), (cols[3], "language", "Languages"), (cols[4], "vendor", "Vendors")]:
    values = summary[field].set_index(field)["samples"]
    missing = int(values.get(store.MISSING, 0))
    col.metric(label, int((values.index != store.MISSING).sum()),
               help=f"{missing:,} samples have no {field}" if missing else None)

scan_button(name)

left, right = st.columns(2)
ui.chart("count_bars", summary["batch"], "batch", sort=list(summary["batch"]["batch"]), key="chart_batch",
         container=left)
ui.chart("count_bars", summary["language"], "language", key="chart_language", container=right)
ui.chart("count_bars", summary["vendor"], "vendor", key="chart_vendor", container=left)
ui.chart("count_bars", summary["modality"], "modality", key="chart_modality", container=right)

with st.expander("All datasets"):
    st.dataframe(pd.DataFrame({"dataset": ui.dataset_names()}), hide_index=True, key="datasets_table")
with st.expander("Import a delivery", expanded="import_source" in st.query_params):
    import_form()
