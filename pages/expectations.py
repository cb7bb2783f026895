"""Expectations (for Product): the contract's rules per batch and language as pass/fail, threshold tuning, batch rejection."""

from pathlib import Path

import pandas as pd
import streamlit as st

from datasteward import expectations, gate, overview, store, ui
from datasteward.checks import REGISTRY
from datasteward.contract import Contract, load_contract
from datasteward.errors import DataStewardError

ALL_BATCHES = "(all batches)"
ALL_LANGUAGES = "(all languages)"


def _mtime(path: str | None) -> float | None:
    return Path(path).stat().st_mtime if path and Path(path).is_file() else None


@st.cache_data(max_entries=32, show_spinner=False)
def cached_contract(path: str | None, mtime: float | None) -> Contract:
    return load_contract(path, REGISTRY)


@st.cache_data(max_entries=32, show_spinner=False)
def load_acceptance(name: str, stamp: tuple, path: str | None, mtime: float | None) -> pd.DataFrame:
    contract = cached_contract(path, mtime)
    return store.kept(store.open_dataset(name), f"acceptance:{path}:{mtime}",
                      lambda ds: expectations.acceptance(ds, contract))


@st.cache_data(max_entries=64, show_spinner=False)
def load_breakdown(name: str, stamp: tuple, path: str | None, mtime: float | None, index: int) -> pd.DataFrame:
    return expectations.coverage_breakdown(store.open_dataset(name), cached_contract(path, mtime).coverage[index])


@st.cache_data(max_entries=64, show_spinner=False)
def load_range(name: str, stamp: tuple, check: str) -> dict:
    return expectations.score_range(store.open_dataset(name), check)


@st.cache_data(max_entries=256, show_spinner=False)
def count_flagged(name: str, stamp: tuple, check: str, threshold: float, language: str | None, path: str | None,
                  mtime: float | None) -> int:
    return expectations.would_flag(store.open_dataset(name), check, threshold, language=language,
                                   contract=cached_contract(path, mtime))


PASS_CSS, FAIL_CSS = "background-color: #d8f0dc", "background-color: #f8d3d0"


def coloured(cells: pd.DataFrame, passed: pd.DataFrame):
    """``cells`` with a green background where ``passed`` is true and red where it is false."""
    css = passed.reindex_like(cells).apply(lambda col: col.map({True: PASS_CSS, False: FAIL_CSS})).fillna("")
    return cells.style.apply(lambda _: css, axis=None)


def grid(frame: pd.DataFrame, column: str, text: list[str]):
    """Batches down, ``column`` across, each cell its text coloured by pass or fail."""
    cells = frame.assign(cell=text).pivot_table(index="batch", columns=column, values="cell", aggfunc="first",
                                                sort=False).fillna("")
    passed = frame.pivot_table(index="batch", columns=column, values="passed", aggfunc="first", sort=False)
    return coloured(cells, passed)


def show_acceptance(results: pd.DataFrame, contract: Contract) -> None:
    st.subheader("Acceptance per batch")
    if results.empty:
        st.info("The contract has no rules for these batches.")
        return
    st.dataframe(grid(results, "rule", results["passed"].map({True: "pass", False: "FAIL"}).tolist()), key="ex_grid")
    batch = ui.param_select("Show the rules of", [ALL_BATCHES, *dict.fromkeys(results["batch"])], key="ex_batch",
                            param="batch")
    shown = results if batch == ALL_BATCHES else results[results["batch"] == batch]
    table = shown.assign(result=shown["passed"].map({True: "pass", False: "FAIL"}),
                         asks=[expectations.describe(contract, r) for r in shown["rule"]])
    table = table[["batch", "rule", "result", "value", "limit", "detail", "asks"]].reset_index(drop=True)
    number = lambda v: "n/a" if v is None or v != v else f"{v:.3g}"  # noqa: E731
    styled = (table.style.apply(lambda col: [PASS_CSS if v == "pass" else FAIL_CSS for v in col], subset=["result"])
              .format(number, subset=["value", "limit"]))
    st.dataframe(styled, hide_index=True, key="ex_results", column_config={"asks": st.column_config.TextColumn("the rule asks")})
    failing = shown[~shown["passed"]]
    if failing.empty:
        st.success("Every rule passes." if batch == ALL_BATCHES else f"Every rule passes for {batch}.")
        return
    with st.expander(f"Failing rules with example items ({len(failing)})", expanded=batch != ALL_BATCHES):
        for row in failing.head(40).itertuples(index=False):
            links = ", ".join(f"[{overview.md_escape(e['name'] or e['id'])}]({expectations.item_link(name, e)})"
                              for e in row.examples if e.get("id"))
            st.markdown(f":red[**FAIL**] **{overview.md_escape(row.batch)}** · {overview.md_escape(row.rule)}: "
                        f"{overview.md_escape(row.detail)}" + (f" — e.g. {links}" if links else ""))


def show_coverage(contract: Contract, path: str | None, mtime: float | None, stamp: tuple) -> None:
    if not contract.coverage:
        return
    st.subheader("Coverage per batch and language")
    for i, rule in enumerate(contract.coverage):
        st.markdown(f"**{overview.md_escape(rule.name)}** — {overview.md_escape(expectations.describe(contract, rule.name))}")
        frame = load_breakdown(name, stamp, path, mtime, i)
        if frame.empty:
            st.caption("No items this rule applies to.")
            continue
        if rule.kind == "share":
            st.caption("The rule is judged per batch (above); here each batch is split by language, to show where "
                       "the matching items are.")
            text = [f"{s:.0%} ({m}/{n})" for s, m, n in zip(frame["share"], frame["matching"], frame["items"])]
            st.dataframe(grid(frame, "language", text), key=f"ex_coverage_{i}")
        else:
            st.dataframe(grid(frame, rule.by, [f"{n:,}" for n in frame["items"]]), key=f"ex_coverage_{i}")


def show_rejections(ds, batches: list[str]) -> None:
    st.subheader("Rejected batches")
    rejected = gate.rejected_batches(ds)
    if rejected:
        st.dataframe(pd.DataFrame([{"batch": b, **r} for b, r in rejected.items()]), hide_index=True,
                     key="ex_rejected")
    else:
        st.caption("No batch is rejected. A rejected batch fails the gate (`datasteward gate`) until the rejection is lifted.")
    left, right = st.columns(2)
    with left.form("ex_reject_form", clear_on_submit=True):
        batch = st.selectbox("Batch to reject", [b for b in batches if b not in rejected], key="ex_reject_batch")
        reason = st.text_input("Reason (told to the vendor and shown in the gate)", key="ex_reject_reason")
        if st.form_submit_button("Reject batch", key="ex_reject") and batch is not None:
            try:
                gate.reject_batch(ds, batch, reason, actor)
                st.session_state["ex_message"] = ("success", f"Rejected {batch}. Lift the rejection to undo it.")
            except DataStewardError as exc:
                st.session_state["ex_message"] = ("error", str(exc))
            st.rerun()
    if rejected:
        with right.form("ex_lift_form"):
            batch = st.selectbox("Rejected batch", list(rejected), key="ex_lift_batch")
            if st.form_submit_button("Lift the rejection (undo)", key="ex_lift"):
                try:
                    gate.unreject_batch(ds, batch, actor)
                    st.session_state["ex_message"] = ("success", f"Lifted the rejection of {batch}.")
                except DataStewardError as exc:
                    st.session_state["ex_message"] = ("error", str(exc))
                st.rerun()


def show_tuning(ds, contract: Contract, path: str | None, mtime: float | None, stamp: tuple,
                languages: list[str]) -> None:
    st.subheader("Tune a threshold")
    left, middle = st.columns(2)
    check = ui.param_select("Check", list(REGISTRY), key="ex_check", param="check", container=left,
                            format_func=lambda c: f"{c} ({REGISTRY[c].owner})")
    language = ui.param_select("Language", [ALL_LANGUAGES, *languages], key="ex_language", param="language",
                               container=middle)
    language = None if language == ALL_LANGUAGES else language
    spec = REGISTRY[check]
    current = contract.threshold(spec, language)
    st.caption(f"{spec.describes}. Fires when the score is {spec.direction} the threshold ({spec.unit}); "
               f"the contract's threshold{' for ' + language if language else ''} is {current:g}.")
    scores = load_range(name, stamp, check)
    if scores["scored"] == 0:
        st.info(f"No item has a {check} score yet: run a scan first (Home page).")
        return
    lo, hi, step = expectations.slider_range(scores["min"], scores["max"], current)
    if st.session_state.get("ex_threshold_for") != (check, language):
        wanted = st.query_params.get("threshold") if "ex_threshold_for" not in st.session_state else None
        try:
            value = float(wanted) if wanted is not None else current
        except ValueError:
            st.warning(f"Link parameter threshold: {wanted!r} is not a number; ignored.")
            value = current
        st.session_state["ex_threshold"] = min(max(value, lo), hi)
        st.session_state["ex_threshold_for"] = (check, language)
    threshold = st.slider(f"Threshold for {check}" + (f" ({language})" if language else ""), lo, hi, step=step,
                          key="ex_threshold")
    st.query_params["threshold"] = f"{threshold:g}"
    would = count_flagged(name, stamp, check, threshold, language, path, mtime)
    now = count_flagged(name, stamp, check, current, language, path, mtime)
    a, b = st.columns(2)
    a.metric("Items that would be flagged", f"{would:,}", delta=f"{would - now:+,}" if would != now else None,
             delta_color="inverse", help=f"of {scores['scored']:,} items with a {check} score")
    b.metric("Flagged at the contract's threshold", f"{now:,}")
    target = path
    if target is None:
        target = st.text_input("Contract file to write (none yet for this dataset)", key="ex_contract_new") or None
    if st.button("Save to contract", key="ex_save", disabled=target is None):
        try:
            entry = expectations.save_threshold(ds, check, threshold, actor, language=language, path=target)
            st.session_state["ex_message"] = ("success", f"Saved to {target}: {entry['note']}. "
                                              "Flags follow on the next scan (Home page).")
            st.session_state.pop("ex_threshold_for", None)
        except DataStewardError as exc:
            st.session_state["ex_message"] = ("error", str(exc))
        st.rerun()


st.title("Expectations")
name = st.session_state.get("dataset_name")
if name is None:
    st.info("No dataset yet: import one on the Home page.")
    st.stop()
actor = ui.current_actor()
ds = store.open_dataset(name)
store.refresh_info(ds)  # the contract and rejections live in the dataset's info, which another process may have changed
stamp = ui.dataset_stamp(name)
summary = ui.cached_summary(name, stamp)
if "ex_message" in st.session_state:
    kind, text = st.session_state.pop("ex_message")
    (st.success if kind == "success" else st.error)(text)

path = expectations.contract_path(ds)
mtime = _mtime(path)
try:
    contract = cached_contract(path, mtime)
except DataStewardError as exc:
    st.error(f"The contract cannot be read, so the checks' defaults are shown: {exc}")
    contract = Contract()
st.caption(f"Contract: `{path}`" if path else "No contract file for this dataset: the checks' defaults apply.")

batches = [b for b in summary["batch"]["batch"] if b != store.MISSING]
show_acceptance(load_acceptance(name, stamp, path if contract.path else None, mtime), contract)
show_coverage(contract, path if contract.path else None, mtime, stamp)
show_rejections(ds, batches)
languages = [v for v in summary["language"]["language"] if v != store.MISSING]
show_tuning(ds, contract, path if contract.path else None, mtime, stamp, languages)

st.subheader("Decisions")
log = expectations.decisions(ds)
if log.empty:
    st.caption("No threshold saves or batch rejections yet.")
else:
    st.dataframe(log, hide_index=True, key="ex_decisions")
