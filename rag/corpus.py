"""The corpus as files: upload, removal, listing, re-indexing, and the text around a cited span.
Plain functions the UI (and tests, and a future `rag add`) call.

Everything a browser sends is untrusted: the file name is reduced to a safe base name that cannot
leave the corpus folder, the type must be one the loaders read, and the size is capped. After a
change the corpus is re-indexed with the same `ingest()` the CLI uses, so nothing needs a restart.
"""
from __future__ import annotations

import os
import re
import shutil
import threading
import time
import unicodedata
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from rag.config import Settings
from rag.errors import InputError
from rag.loaders import SUPPORTED_SUFFIXES

# Characters kept in stored names; everything else (separators, quotes, shell and HTML specials)
# becomes "_". Names stay readable and never need escaping on disk.
_UNSAFE = re.compile(r"[^\w.\- ()]+", re.UNICODE)
MAX_NAME_CHARS = 120
CONTEXT_CHARS = 220  # shown on each side of a cited span, so the reader sees where it sits


@dataclass
class DocumentRow:
    source: str
    title: str
    chunks: int
    ingested_at: float
    status: str = "indexed"  # or "not indexed: <reason>", or that the file is gone

    def as_row(self) -> list:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.ingested_at)) if self.ingested_at else ""
        return [self.source, self.title, self.chunks, when, self.status]


def sanitize_filename(name: str) -> str:
    """A base name safe to create inside the corpus folder, or InputError.

    Directory parts (either slash style), `..`, control characters and leading dots (hidden files
    are ignored by ingest) are removed; what remains must still have a supported suffix.
    """
    name = unicodedata.normalize("NFC", name or "")
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")  # control/format chars
    name = re.split(r"[\\/]", name)[-1]  # strip any directory part, Windows or POSIX
    name = _UNSAFE.sub("_", name).strip(" .")
    name = re.sub(r"\.{2,}", ".", name)  # no ".." anywhere
    stem, suffix = os.path.splitext(name)
    if not stem or not suffix:
        raise InputError(f"unusable file name {name!r}: it needs a name and a file type")
    if suffix.lower() not in SUPPORTED_SUFFIXES:
        raise InputError(f"file type {suffix} is not supported (allowed: {', '.join(sorted(SUPPORTED_SUFFIXES))})")
    return stem[: MAX_NAME_CHARS - len(suffix)] + suffix.lower()


def free_name(corpus: Path, name: str) -> str:
    """`name`, or `stem (2).txt`, `stem (3).txt`, ...: the first one no file in the corpus has."""
    stem, suffix = os.path.splitext(name)
    n = 2
    while (corpus / name).exists():
        name = f"{stem} ({n}){suffix}"
        n += 1
    return name


def _inside(corpus: Path, name: str) -> Path:
    """Belt and braces after sanitizing: the resolved target must sit directly in the corpus."""
    root = corpus.resolve()
    target = (root / name).resolve()
    if target.parent != root:
        raise InputError(f"file name {name!r} would leave the corpus folder")
    return target


def save_upload(settings: Settings, temp_path: str | Path, original_name: str | None = None,
                overwrite: bool = True) -> str:
    """Copy an uploaded temp file into the corpus under a sanitized name; returns that name.

    Re-uploading a file with the same name replaces it (ingest then re-indexes it as "updated").
    """
    temp_path = Path(temp_path)
    name = sanitize_filename(original_name or temp_path.name)
    size = temp_path.stat().st_size
    limit_mb = settings.upload_limit_mb
    if size > limit_mb * 1e6:
        raise InputError(f"{name} is {size / 1e6:.1f} MB; the upload limit is {limit_mb:g} MB "
                         "(settings upload_max_mb and max_file_mb)")
    if size == 0:
        raise InputError(f"{name} is empty")
    settings.corpus_dir.mkdir(parents=True, exist_ok=True)
    target = _inside(settings.corpus_dir, name)
    if target.exists() and not overwrite:
        raise InputError(f"{name} already exists in the corpus")
    if target.exists() and name != unicodedata.normalize("NFC", original_name or temp_path.name):
        # Sanitising maps distinct names to one ("Q3 report?.txt", "Q3 report*.txt"; "Notes.TXT",
        # "Notes.txt"; "a/b.txt", "c\\b.txt"): only the very same name replaces a document, any other
        # gets a free name.
        name = free_name(settings.corpus_dir, name)
        target = _inside(settings.corpus_dir, name)
    # Write beside the target and rename: an ingest running meanwhile never reads half a file. The
    # partial file is unique, so two uploads of one name at once never write into the same file.
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.part")
    shutil.copyfile(temp_path, partial)
    os.replace(partial, target)
    return name


def remove_document(settings: Settings, source: str) -> str:
    """Delete one corpus file named by its source (as listed); the next ingest drops its chunks."""
    root = settings.corpus_dir.resolve()
    target = root / (source or "")
    # Only the folder is resolved, not the name itself: a symbolic link is removed, never the file
    # it points to (which may be another document, or something outside the corpus).
    if (not source or Path(source).is_absolute() or target.name in ("", ".", "..")
            or not target.parent.resolve().is_relative_to(root)):
        raise InputError(f"{source!r} is not a document of the corpus")
    if not (target.is_symlink() or target.is_file()):
        raise InputError(f"{source} is not in the corpus folder (already removed?)")
    try:
        target.unlink()
    except OSError as exc:
        raise InputError(f"cannot remove {source}: {exc.strerror or exc}") from None
    return source


def corpus_files(corpus: Path) -> list[str]:
    """Every file a user put in the corpus folder (hidden ones excepted), indexed or not."""
    from rag.ingest import printable_name

    if not corpus.is_dir():
        return []
    return [printable_name(path.relative_to(corpus).as_posix()) for path in sorted(corpus.rglob("*"))
            if not any(part.startswith(".") for part in path.relative_to(corpus).parts)
            and (path.is_file() or path.is_symlink())]


def _not_indexed(source: str, skipped: dict[str, str]) -> str:
    if source in skipped:
        return "not indexed: " + skipped[source]
    if os.path.splitext(source)[1].lower() not in SUPPORTED_SUFFIXES:
        return "not indexed: unsupported file type"
    return "not indexed yet: press Re-index"


def list_documents(settings: Settings) -> list[DocumentRow]:
    """Every file of the corpus folder and every indexed one, each with its status and reason."""
    from rag.ingest import skipped_files
    from rag.store import Store

    records = Store(settings).file_records()
    on_disk = set(corpus_files(settings.corpus_dir))
    skipped = skipped_files(settings)
    rows = []
    for source in sorted(on_disk | set(records)):
        record = records.get(source)
        if record is None:
            rows.append(DocumentRow(source, "", 0, 0.0, _not_indexed(source, skipped)))
            continue
        status = "indexed" if source in on_disk else "file removed: re-index to drop its passages"
        rows.append(DocumentRow(source, record.title, record.chunks, record.ingested_at, status))
    return rows


def reindex(settings: Settings, retriever=None):
    """Run the incremental ingest, then let the shared retriever pick up the new BM25 index."""
    from rag.ingest import ingest

    report = ingest(settings, show_progress=False)
    if retriever is not None:
        retriever.refresh()
    return report


# Documents can be up to max_file_mb (20 MB) each: the cache is bounded by their total size, not by
# their number (64 of them could have held 1.3 GB). A document larger than the budget is not cached.
TEXT_CACHE_BYTES = 24_000_000
_text_cache: OrderedDict[tuple[str, int, int], str | None] = OrderedDict()
_text_cache_lock = threading.Lock()


def cached_text_bytes() -> int:
    with _text_cache_lock:
        return sum(len(text) for text in _text_cache.values() if text)


def _document_text(path: str, mtime_ns: int, max_bytes: int) -> str | None:
    """The text the chunk spans index into (decoded text or HTML-extracted text); cached per file
    version, least recently used first out."""
    key = (path, mtime_ns, max_bytes)
    with _text_cache_lock:
        if key in _text_cache:
            _text_cache.move_to_end(key)
            return _text_cache[key]
    text = _read_document_text(path, max_bytes)
    if len(text or "") <= TEXT_CACHE_BYTES:
        with _text_cache_lock:
            _text_cache[key] = text
            while sum(len(t) for t in _text_cache.values() if t) > TEXT_CACHE_BYTES:
                _text_cache.popitem(last=False)
    return text


def _read_document_text(path: str, max_bytes: int) -> str | None:
    from rag.loaders import HTML_SUFFIXES, TEXT_SUFFIXES, load_document

    p = Path(path)
    if p.suffix.lower() not in TEXT_SUFFIXES | HTML_SUFFIXES:
        return None  # PDF/DOCX: re-parsing per question is too slow; the chunk text is shown instead
    try:
        return load_document(p, max_bytes).text
    except Exception:  # file changed, unreadable, too big: fall back to the chunk text
        return None


def source_context(settings: Settings, source: str, start: int, end: int, chunk_text: str) -> tuple[str, str, str]:
    """(before, span, after) around a citation, read from the corpus file when its text still matches.

    The index may be older than the file on disk; when the span no longer holds the chunk's text,
    the stored chunk text is shown alone rather than a wrong passage.
    """
    root = settings.corpus_dir.resolve()
    path = (root / source).resolve()
    if path.is_relative_to(root) and path.is_file() and 0 <= start < end:
        text = _document_text(str(path), path.stat().st_mtime_ns, settings.max_file_bytes)
        if text is not None and " ".join(text[start:end].split()) == " ".join(chunk_text.split()):
            before = text[max(0, start - CONTEXT_CHARS):start]
            after = text[end:end + CONTEXT_CHARS]
            return (("…" if start > CONTEXT_CHARS else "") + before, text[start:end],
                    after + ("…" if end + CONTEXT_CHARS < len(text) else ""))
    return "", chunk_text, ""
