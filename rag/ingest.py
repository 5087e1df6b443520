"""Incremental ingestion of a corpus folder into Chroma and the BM25 index.

Files are compared by the sha256 of their bytes (never modification times), so touching or copying
a file re-embeds nothing. Chroma is the single source of truth; each run first reconciles it with
the file manifest, which makes any interrupted run (Ctrl-C, kill -9) repairable by the next one.
"""
from __future__ import annotations

import hashlib
import logging
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from filelock import FileLock, Timeout

from rag import bm25
from rag.chunking import chunk_text
from rag.config import Settings
from rag.embedding import check_index, claim_index, embed_documents
from rag.errors import BackendError, IndexBusyError, InputError
from rag.loaders import SUPPORTED_SUFFIXES, LoadedDocument, UnreadableFile, load_document
from rag.store import FileRecord, Store, chroma_errors

log = logging.getLogger(__name__)


@dataclass
class CorpusFile:
    source: str  # path relative to the corpus folder, with forward slashes: the document's identity
    path: Path
    file_hash: str


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # unchanged
    failed: dict[str, str] = field(default_factory=dict)  # source -> reason
    chunks_added: int = 0
    chunks_total: int = 0
    seconds: float = 0.0
    bm25_rebuilt: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def summary(self) -> str:
        return (f"files: {len(self.added)} added, {len(self.updated)} updated, {len(self.removed)} removed, "
                f"{len(self.skipped)} unchanged, {len(self.failed)} failed; chunks: {self.chunks_added} "
                f"embedded, {self.chunks_total} in index; {self.seconds:.1f} s")


def chunk_id(source: str, file_hash: str, index: int) -> str:
    """Stable and self-describing: the id alone says which file version a chunk belongs to."""
    return f"{hashlib.sha1(source.encode()).hexdigest()[:12]}-{file_hash[:12]}-{index:05d}"


def expected_ids(record: FileRecord) -> set[str]:
    return {chunk_id(record.source, record.file_hash, i) for i in range(record.chunks)}


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def printable_name(rel: str) -> str:
    """A file name as text: bytes that are not UTF-8 (kept by Python as surrogates) shown as \\xNN."""
    return rel.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def check_corpus_dir(corpus: Path) -> None:
    if not corpus.is_dir():
        raise InputError(f"corpus folder {corpus} does not exist (set RAG_CORPUS_DIR or pass --corpus)")


def scan_corpus(corpus: Path, report: IngestReport) -> list[CorpusFile]:
    """Supported files below `corpus`; links that lead outside it are refused, not followed."""
    check_corpus_dir(corpus)
    root = corpus.resolve()
    found = []
    for path in sorted(corpus.rglob("*")):
        rel = path.relative_to(corpus).as_posix()
        if any(part.startswith(".") for part in path.relative_to(corpus).parts):
            continue
        if path.is_symlink() and not path.resolve().is_relative_to(root):
            report.failed[rel] = "symbolic link pointing outside the corpus folder"
            continue
        if not path.is_file():
            continue
        if printable_name(rel) != rel:
            # Chroma stores names as UTF-8 text, and the chunk id hashes the name's UTF-8 bytes.
            report.failed[printable_name(rel)] = "file name is not valid UTF-8; rename the file"
            continue
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            report.failed[rel] = (f"unsupported file type {path.suffix or '(none)'} "
                                  f"(supported: {', '.join(sorted(SUPPORTED_SUFFIXES))})")
            continue
        try:
            found.append(CorpusFile(rel, path, file_sha256(path)))
        except OSError as exc:
            report.failed[rel] = f"cannot read: {exc.strerror}"
    return found


class _Lock:
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
        import os
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
        import threading

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


def _reconcile(store: Store, files: list[CorpusFile], rebuild: bool, report: IngestReport) -> list[CorpusFile]:
    """Decide what to (re)index and delete everything that is not part of a complete, current file."""
    records = store.file_records()
    present = set(store.chunk_ids())
    current = {f.source: f for f in files}
    kept: dict[str, FileRecord] = {}
    todo: list[CorpusFile] = []
    for f in files:
        record = records.get(f.source)
        if not rebuild and record and record.file_hash == f.file_hash and expected_ids(record) <= present:
            kept[f.source] = record
            report.skipped.append(f.source)
        else:
            todo.append(f)
            (report.updated if record else report.added).append(f.source)
    report.removed.extend(s for s in records if s not in current)
    # Manifest first, then chunks: a crash in between leaves chunks without a record, which the
    # next run deletes here, never a record that promises chunks which are gone.
    for source in records:
        if source not in kept:
            store.drop_file_record(source)
    keep_ids = set().union(*(expected_ids(r) for r in kept.values())) if kept else set()
    store.delete_chunks(sorted(present - keep_ids))
    return todo


@dataclass
class _Pending:
    file: CorpusFile
    doc: LoadedDocument
    ids: list[str]
    texts: list[str]
    embed_texts: list[str]
    metadatas: list[dict]


def _prepare(f: CorpusFile, settings: Settings) -> _Pending:
    doc = load_document(f.path, settings.max_file_bytes)
    chunks = chunk_text(doc.text, doc.title, settings.chunk_size, settings.chunk_overlap)
    if not chunks:
        raise UnreadableFile("no text in the file")
    base = {"source": f.source, "file_name": f.path.name, "title": doc.title, "file_hash": f.file_hash, **doc.metadata}
    return _Pending(
        file=f, doc=doc,
        ids=[chunk_id(f.source, f.file_hash, c.index) for c in chunks],
        texts=[c.text for c in chunks],
        embed_texts=[c.embed_text for c in chunks],
        metadatas=[base | {"start": c.start, "end": c.end, "chunk": c.index} for c in chunks],
    )


def _write(store: Store, pending: _Pending, vectors: list[list[float]]) -> None:
    store.add_chunks(pending.ids, vectors, pending.texts, pending.metadatas)
    store.put_file_record(FileRecord(pending.file.source, pending.file.file_hash, len(pending.ids),
                                     pending.doc.title, time.time()))


def _write_batch(store: Store, batch: list[_Pending], vectors: list[list[float]], progress) -> None:
    at = 0
    for pending in batch:
        n = len(pending.ids)
        _write(store, pending, vectors[at:at + n])
        at += n
        progress.update(1)


def skip_reason(exc: Exception) -> str:
    if isinstance(exc, UnreadableFile):
        return str(exc)
    if isinstance(exc, OSError):
        return f"cannot read: {exc.strerror or exc}"
    log.debug("reading failed", exc_info=exc)
    return f"cannot read the file ({type(exc).__name__}: {' '.join(str(exc).split())[:200]})"


def _prepared_batches(todo: list[CorpusFile], settings: Settings, report: IngestReport, progress):
    """Files read and chunked, grouped so one embedding call covers several small files."""
    batch: list[_Pending] = []
    for f in todo:
        try:
            pending = _prepare(f, settings)
        except Exception as exc:  # whatever one file's parser raises skips that file, never the batch
            report.failed[f.source] = skip_reason(exc)
            (report.updated if f.source in report.updated else report.added).remove(f.source)
            progress.update(1)
            continue
        batch.append(pending)
        if sum(len(p.ids) for p in batch) >= settings.embed_batch_size * 2:
            yield batch
            batch = []
    if batch:
        yield batch


def _stop_reader(reader, handover, stopped) -> None:
    """After a failed embedding or write the reader may wait on a full hand-over for ever (one
    leaked thread per failed re-index of the UI): tell it to stop and empty the queue until it has."""
    import queue

    stopped.set()
    while reader.is_alive():
        try:
            handover.get(timeout=0.1)
        except queue.Empty:
            pass
    reader.join()


def _run_pipeline(store: Store, todo: list[CorpusFile], settings: Settings, report: IngestReport, progress) -> None:
    """Embedding keeps the CPU busy; reading/chunking the next files and writing the last batch to
    Chroma run beside it in threads (tokenizers, torch and sqlite release the GIL). At most one batch
    waits in each hand-over, so memory stays bounded however large the corpus."""
    import queue
    import threading
    from concurrent.futures import ThreadPoolExecutor

    handover: queue.Queue = queue.Queue(maxsize=1)
    reader_error: list[BaseException] = []
    stopped = threading.Event()  # set when embedding or writing failed: the reader stops early

    def read() -> None:
        try:
            for batch in _prepared_batches(todo, settings, report, progress):
                if stopped.is_set():
                    return
                handover.put(batch)
        except BaseException as exc:  # re-raised in the caller's thread
            reader_error.append(exc)
        finally:
            handover.put(None)

    reader = threading.Thread(target=read, name="ingest-reader", daemon=True)
    reader.start()
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-writer") as writer:
            writing = None
            while (batch := handover.get()) is not None:
                texts = [t for p in batch for t in p.embed_texts]
                vectors = embed_documents(texts, settings)
                if writing is not None:
                    writing.result()
                writing = writer.submit(_write_batch, store, batch, vectors, progress)
                report.chunks_added += len(texts)
            if writing is not None:
                writing.result()
    finally:
        _stop_reader(reader, handover, stopped)
    if reader_error:
        raise reader_error[0]


def ingest(settings: Settings, rebuild: bool = False, show_progress: bool = True, lock_wait_s: float = 10.0) -> IngestReport:
    started = time.perf_counter()
    report = IngestReport()
    check_corpus_dir(settings.corpus_dir)
    with _Lock(settings, lock_wait_s), chroma_errors(settings):
        store = Store(settings)
        with ChromaIngestLock(store, lock_wait_s) if settings.uses_chroma_server else nullcontext():
            _ingest_locked(store, settings, rebuild, show_progress, report)
        save_skipped(settings, report.failed)
    for source, reason in report.failed.items():
        log.warning("skipped %s: %s", source, reason)
    report.seconds = time.perf_counter() - started
    return report


SKIPPED_FILE = "skipped.json"


def save_skipped(settings: Settings, failed: dict[str, str]) -> None:
    """The files the last ingest skipped, with the reasons, for the UI's document list (which lists
    every corpus file, indexed or not). Best effort: the list is informative only."""
    import json

    try:
        (settings.index_dir / SKIPPED_FILE).write_text(json.dumps(failed, ensure_ascii=False, indent=1))
    except OSError as exc:
        log.warning("cannot record the skipped files: %s", exc)


def skipped_files(settings: Settings) -> dict[str, str]:
    import json

    try:
        loaded = json.loads((settings.index_dir / SKIPPED_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _ingest_locked(store: Store, settings: Settings, rebuild: bool, show_progress: bool, report: IngestReport) -> None:
    """Everything after the locks: the file list is read here, so an ingest that waited for another
    works from the corpus as it is now, not as it was before it waited."""
    from tqdm import tqdm

    files = scan_corpus(settings.corpus_dir, report)
    if not rebuild:
        check_index(store, settings)  # before anything is deleted; a rebuild may change the embedder
    todo = _reconcile(store, files, rebuild, report)
    claim_index(store, settings)
    with tqdm(total=len(todo), desc="Ingesting", unit="file", disable=not show_progress or not todo) as progress:
        _run_pipeline(store, todo, settings, report, progress)
    records = store.file_records()
    report.bm25_rebuilt = bm25.ensure_current(store, settings.bm25_path, records)
    report.chunks_total = store.chunks.count()
