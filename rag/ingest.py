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

from rag import bm25
from rag.chunking import chunk_text, chunking_recipe
from rag.config import Settings
from rag.embedding import check_index, claim_index, embed_documents
from rag.errors import InputError
from rag.formats.structure import chunk_location
from rag.loaders import SUPPORTED_SUFFIXES, LoadedDocument, UnreadableFile, load_document
from rag.locks import ChromaIngestLock, IngestFileLock
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


def _reconcile(store: Store, files: list[CorpusFile], rebuild: bool, recipe: str, report: IngestReport) -> list[CorpusFile]:
    """Decide what to (re)index and delete everything that is not part of a complete, current file:
    a file is current when its content and the way it was chunked (`recipe`) are today's."""
    records = store.file_records()
    present = set(store.chunk_ids())
    current = {f.source: f for f in files}
    kept: dict[str, FileRecord] = {}
    todo: list[CorpusFile] = []
    for f in files:
        record = records.get(f.source)
        if (not rebuild and record and record.file_hash == f.file_hash and record.recipe == recipe
                and expected_ids(record) <= present):
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
    recipe: str  # how the file was chunked, recorded in its manifest record


def prepare(f: CorpusFile, settings: Settings) -> _Pending:
    doc = load_document(f.path, settings.max_file_bytes)
    chunks = chunk_text(doc.text, doc.title, settings.chunk_size, settings.chunk_overlap, doc.layout)
    if not chunks:
        raise UnreadableFile("no text in the file")
    base = {"source": f.source, "file_name": f.path.name, "title": doc.title, "file_hash": f.file_hash, **doc.metadata}
    return _Pending(
        file=f, doc=doc,
        ids=[chunk_id(f.source, f.file_hash, c.index) for c in chunks],
        texts=[c.text for c in chunks],
        embed_texts=[c.embed_text for c in chunks],
        metadatas=[base | {"start": c.start, "end": c.end, "chunk": c.index}
                   | chunk_location(doc.layout, doc.title, c.start, c.end, c.path) for c in chunks],
        recipe=chunking_recipe(settings.chunk_size, settings.chunk_overlap),
    )


def _write(store: Store, pending: _Pending, vectors: list[list[float]]) -> None:
    store.add_chunks(pending.ids, vectors, pending.texts, pending.metadatas)
    store.put_file_record(FileRecord(pending.file.source, pending.file.file_hash, len(pending.ids),
                                     pending.doc.title, time.time(), pending.recipe))


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
            pending = prepare(f, settings)
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
    """Read, embed and write batch by batch. With an embeddings server the wait is the network's, so
    reading and writing overlap it (`_run_overlapped`); a local encoder already uses every core, and
    threads beside it slowed a cold ingest on 2 cores (README, issue 13), so it runs in turn."""
    if settings.embed == "openai":
        _run_overlapped(store, todo, settings, report, progress)
        return
    for batch in _prepared_batches(todo, settings, report, progress):
        texts = [t for p in batch for t in p.embed_texts]
        vectors = embed_documents(texts, settings)
        _write_batch(store, batch, vectors, progress)
        report.chunks_added += len(texts)


def _run_overlapped(store: Store, todo: list[CorpusFile], settings: Settings, report: IngestReport, progress) -> None:
    """Embedding waits on the server; reading/chunking the next files and writing the last batch to
    Chroma run beside it in threads (tokenizers and sqlite release the GIL). At most one batch
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
    with IngestFileLock(settings, lock_wait_s), chroma_errors(settings):
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
    todo = _reconcile(store, files, rebuild, chunking_recipe(settings.chunk_size, settings.chunk_overlap), report)
    claim_index(store, settings)
    with tqdm(total=len(todo), desc="Ingesting", unit="file", disable=not show_progress or not todo) as progress:
        _run_pipeline(store, todo, settings, report, progress)
    records = store.file_records()
    report.bm25_rebuilt = bm25.ensure_current(store, settings.bm25_path, records)
    report.chunks_total = store.chunks.count()
