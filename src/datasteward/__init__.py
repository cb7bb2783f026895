"""Data Steward: owned quality for annotated images, speech, labels and transcripts.

The public API for scripts and notebooks::

    import datasteward as ds
    report = ds.import_source("deliveries/acme.csv", "speech")
    dataset = ds.open_dataset("speech")
    ds.summary(dataset)["language"]
"""

from datasteward.config import configure_environment

configure_environment()

from datasteward.demo import load_demo  # noqa: E402
from datasteward.errors import DataStewardError, InputError, MediaError  # noqa: E402
from datasteward.ingest import import_source  # noqa: E402
from datasteward.store import launch_app, list_datasets, open_dataset, summary  # noqa: E402

__all__ = [
    "DataStewardError", "InputError", "MediaError", "import_source", "launch_app", "list_datasets",
    "load_demo", "open_dataset", "summary",
]
__version__ = "0.1.0"
