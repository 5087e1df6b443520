"""Who may write an index, and when: one ingest at a time, and the served app as the only writer
of an embedded index.

- `IngestFileLock`: a file lock in the index folder; a second ingest waits briefly, then refuses.
- `ChromaIngestLock`: the same for a Chroma server shared by several machines, as a record in the
  collection with a heartbeat (a file lock cannot reach the other machines).
- `hold_served_index` / `ExclusiveWriter`: `rag serve` holds a marker while it serves an embedded
  index, so a CLI ingest into it fails with a clear message instead of corrupting it.
"""
from __future__ import annotations

import logging
import os
import threading
import time

from filelock import FileLock, Timeout

from rag.config import Settings
from rag.errors import BackendError, IndexBusyError
from rag.store import Store

log = logging.getLogger(__name__)


class IngestFileLock:
    """One ingest at a time per index; a second one waits briefly, then refuses."""

    def __init__(self, settings: Settings, wait_s: float):
        try:
            settings.index_dir.mkdir(parents=True, exist_ok=True)
            (settings.index_dir / "ingest.lock").touch()
        except OSError as exc:
            raise BackendError(f"cannot write to the index directory {settings.index_dir}: {exc.strerror} "
                               "(set RAG_INDEX_DIR to a writable folder)") from None
        self.lock = FileLock(str(settings.index_dir / "ingest.lock"))
        self.wait_s = wait_s

    def __enter__(self):
        try:
            self.lock.acquire(timeout=self.wait_s)
        except Timeout:
            raise IndexBusyError(f"another ingest is running on {self.lock.lock_file}; try again when it ends") from None
        return self

    def __exit__(self, *exc):
        self.lock.release()


class ChromaIngestLock:
    """One ingest at a time per collection of a Chroma server, whichever machine runs it.

    The local lock file protects one machine only. This lock is a record in the manifest
    collection: Chroma's `add` keeps the first record of an id and ignores later ones, so of two
    machines adding it at once exactly one reads its own owner back. The holder renews the record's
    expiry while it works; a record past its expiry belongs to a machine that died, and is removed
    (only if it still names that owner, so a fresh holder is never evicted)."""

    RECORD = "lock:ingest"

    def __init__(self, store: Store, wait_s: float):
        import socket
        import uuid

        self.store, self.wait_s = store, wait_s
        self.ttl_s = store.settings.ingest_lock_ttl_s
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._stop = None

    def _holder(self) -> dict | None:
        got = self.store.files.get(ids=[self.RECORD], include=["metadatas"])
        return (got["metadatas"] or [None])[0]

    def _record(self) -> dict:
        return {"owner": self.owner, "expires_at": time.time() + self.ttl_s}

    def __enter__(self):
        deadline = time.monotonic() + self.wait_s
        while True:
            holder = self._holder()
            if holder and float(holder.get("expires_at", 0)) < time.time():
                log.warning("removing the expired ingest lock of %s", holder.get("owner"))
                self.store.files.delete(ids=[self.RECORD], where={"owner": holder.get("owner", "")})
                holder = None
            if holder is None:
                self.store.files.add(ids=[self.RECORD], embeddings=[[1.0]], metadatas=[self._record()])
                holder = self._holder()
            if holder and holder.get("owner") == self.owner:
                break
            if time.monotonic() >= deadline:
                s = self.store.settings
                raise IndexBusyError(
                    f"another ingest ({holder.get('owner') if holder else 'unknown'}) is writing to collection "
                    f"{s.collection!r} on the Chroma server at {s.chroma_host}:{s.chroma_port}; try again when it ends")
            time.sleep(0.5)
        self._start_heartbeat()
        return self

    def _start_heartbeat(self) -> None:

        self._stop = threading.Event()

        def renew() -> None:
            while not self._stop.wait(self.ttl_s / 3):
                try:
                    if (self._holder() or {}).get("owner") == self.owner:
                        self.store.files.upsert(ids=[self.RECORD], embeddings=[[1.0]], metadatas=[self._record()])
                except Exception as exc:  # the ingest itself reports a Chroma outage
                    log.warning("cannot renew the ingest lock: %s", exc)

        threading.Thread(target=renew, name="ingest-lock-renewal", daemon=True).start()

    def stop_heartbeat(self) -> None:
        if self._stop is not None:
            self._stop.set()

    def __exit__(self, *exc):
        self.stop_heartbeat()
        try:
            self.store.files.delete(ids=[self.RECORD], where={"owner": self.owner})
        except Exception as error:  # it expires on its own
            log.warning("cannot release the ingest lock: %s", error)


SERVED_MARKER = "served.lock"


def _open_marker(settings: Settings):
    try:
        settings.index_dir.mkdir(parents=True, exist_ok=True)
        return (settings.index_dir / SERVED_MARKER).open("a+")
    except OSError:
        return None  # an unwritable index folder: the ingest lock reports it properly


def hold_served_index(settings: Settings):
    """A server holds a shared lock on its embedded index for as long as it runs (close the returned
    handle to release it); None for a Chroma server, which any number of clients may write to.

    Embedded Chroma keeps the vector index in the memory of the process that opened it: chunks
    another process adds are not seen, and ones it deletes still come back without text. So while
    a server runs on an embedded index, it is the only writer (its Documents tab, `/reindex`)."""
    import fcntl

    if settings.uses_chroma_server or (handle := _open_marker(settings)) is None:
        return None
    try:
        fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        log.warning("waiting for the `rag ingest` running on %s to finish", settings.index_dir)
        fcntl.flock(handle, fcntl.LOCK_SH)
    return handle


class ExclusiveWriter:
    """`rag ingest` on an embedded index: refused while a server uses it, and keeps a server from
    starting until the ingest is done."""

    def __init__(self, settings: Settings, wait_s: float = 10.0):
        self.settings, self.wait_s = settings, wait_s
        self.handle = None

    def __enter__(self):
        import fcntl

        if self.settings.uses_chroma_server or (handle := _open_marker(self.settings)) is None:
            return self
        deadline = time.monotonic() + self.wait_s
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                pass
            try:  # a shared holder is a server; an exclusive one another `rag ingest`, which we wait for
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
                handle.close()
                raise IndexBusyError(
                    f"a running `rag serve` uses the embedded index at {self.settings.index_dir}; re-index from "
                    "its Documents tab (or its /reindex API), or stop the server first") from None
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.close()
                    raise IndexBusyError(f"another ingest is running on {self.settings.index_dir}; try again "
                                         "when it ends") from None
                time.sleep(0.2)
        self.handle = handle
        return self

    def __exit__(self, *exc):
        if self.handle is not None:
            self.handle.close()  # closing the file releases the lock
