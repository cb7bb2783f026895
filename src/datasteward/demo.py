"""The bundled demo: where it lives and how it is loaded (idempotently) into the store."""

from __future__ import annotations

import os
from pathlib import Path

from datasteward.errors import InputError
from datasteward.ingest import Progress, import_source
from datasteward.records import ImportReport

DEMO_NAME = "demo"


def demo_dir() -> Path:
    """``sample_data/`` of the checkout, or ``DATASTEWARD_DEMO_DIR``."""
    env = os.environ.get("DATASTEWARD_DEMO_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "sample_data"


def load_demo(name: str = DEMO_NAME, *, progress: Progress | None = None) -> ImportReport:
    """Import the demo manifest into ``name``; a second call adds nothing."""
    manifest = demo_dir() / "manifest.csv"
    if not manifest.is_file():
        raise InputError("the bundled demo is missing; run scripts/build_demo.py from a checkout", str(manifest))
    report = import_source(manifest, name, fmt="manifest", progress=progress)
    contract = demo_dir() / "contract.toml"
    if contract.is_file():
        from datasteward import store

        store.set_info(store.open_dataset(name), "contract", str(contract))
    return report
