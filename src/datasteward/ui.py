"""Streamlit helpers shared by the pages: the current dataset and user, cached loaders, start-up warm-up."""

from __future__ import annotations

import os
import threading

import streamlit as st

from datasteward import store


@st.cache_resource(show_spinner=False)
def warm_up() -> threading.Thread:
    """Start librosa's first (numba-compiling) call in the background, once per server."""

    def run():
        import numpy as np

        from datasteward.media import mel_spectrogram_db

        mel_spectrogram_db(np.zeros(4096, dtype=np.float32), 16000)

    thread = threading.Thread(target=run, name="datasteward-warm-up", daemon=True)
    thread.start()
    return thread


@st.cache_data(ttl=10, show_spinner=False)
def dataset_names() -> list[str]:
    return store.list_datasets()


def dataset_stamp(name: str) -> tuple:
    """Changes whenever the dataset's samples change; the key of every cached loader."""
    ds = store.open_dataset(name)
    return ds.count(), str(ds.last_modified_at), store.revision(name)


@st.cache_data(max_entries=32, show_spinner=False)
def cached_summary(name: str, stamp: tuple) -> dict:
    return store.summary(store.open_dataset(name))


def pick_dataset(names: list[str]) -> str | None:
    """The dataset named in the URL (``?dataset=``), else the first; kept in the URL for sharing."""
    wanted = st.query_params.get("dataset")
    if wanted and wanted not in names:  # created since the list was cached, perhaps by another user
        dataset_names.clear()
        names = dataset_names()
    if not names:
        return None
    index = names.index(wanted) if wanted in names else 0
    choice = st.sidebar.selectbox("Dataset", names, index=index, key="dataset")
    if st.query_params.get("dataset") != choice:
        st.query_params["dataset"] = choice
    return choice


def current_user() -> str:
    """The name given at start (``DATASTEWARD_USER``) or in the sidebar."""
    default = os.environ.get("DATASTEWARD_USER") or os.environ.get("USER") or "anonymous"
    return st.sidebar.text_input("Your name", value=st.session_state.get("user", default), key="user")


@st.cache_data(max_entries=32, show_spinner=False)
def scan_info(name: str, stamp: tuple) -> dict:
    """What the last scan recorded on the dataset (time, agreement, scorecards)."""
    return dict((store.open_dataset(name).info or {}).get("scan") or {})


def current_actor():
    """The current user as a review :class:`~datasteward.review.Actor`; the role comes from ``DATASTEWARD_ROLE``."""
    from datasteward.review import Actor

    name = st.session_state.get("user") or os.environ.get("DATASTEWARD_USER") or "anonymous"
    return Actor(name, os.environ.get("DATASTEWARD_ROLE", "reviewer"))
