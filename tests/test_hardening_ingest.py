"""Regression tests for the ingestion findings of issue 11: real files, real embedded Chroma."""
from __future__ import annotations

import os

import pytest

from rag.ingest import ingest
from rag.store import Store
from tests.helpers import make_settings

ARTICLES = 2  # files in the default corpus


# --- 2: one malformed file must not stop the whole ingest ----------------------------------------

def test_malformed_html_and_undecodable_name_are_skipped_per_file(settings):
    corpus = settings.corpus_dir
    (corpus / "broken.html").write_text("<html><body><p>Misrata port notes</p><![abc]></body></html>")
    undecodable = os.fsencode(corpus) + b"/m\xe9mo.txt"  # a name that is not valid UTF-8
    with open(undecodable, "wb") as handle:
        handle.write(b"The Misrata memo describes the port.\n")

    report = ingest(settings, show_progress=False)

    assert len(report.added) == ARTICLES, report
    assert "broken.html" in report.failed
    assert any("UTF-8" in reason for source, reason in report.failed.items() if source.startswith("m")), report.failed
    assert len(Store(settings).file_records()) == ARTICLES
    again = ingest(settings, show_progress=False)  # and on every later run too
    assert len(again.skipped) == ARTICLES and len(again.failed) == 2


# --- 4: archive-based formats are limited by their expanded size ----------------------------------

def write_docx(path, paragraphs: int, text: str = "Benghazi port logistics report. ") -> None:
    import zipfile

    body = "".join(f"<w:p><w:r><w:t>{text * 20}</w:t></w:r></w:p>" for _ in range(paragraphs))
    document = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
                f"<w:body>{body}</w:body></w:document>")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml",
                         '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                         'content-types"><Override PartName="/word/document.xml" ContentType="application/'
                         'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
        archive.writestr("word/document.xml", document)


def test_docx_decompression_bomb_is_refused_before_parsing(settings):
    from rag.loaders import load_document

    bomb = settings.corpus_dir / "bomb.docx"
    write_docx(bomb, paragraphs=40_000)  # ~30 MB of XML in a file of a few tens of KB
    assert bomb.stat().st_size < 200_000
    small = settings.replace(max_file_mb=2.0)
    with pytest.raises(Exception, match="expands to"):
        load_document(bomb, int(small.max_file_mb * 1e6))
    report = ingest(small, show_progress=False)
    assert "expands to" in report.failed["bomb.docx"] and len(report.added) == ARTICLES

    fine = settings.corpus_dir / "fine.docx"  # an ordinary document still reads
    write_docx(fine, paragraphs=3)
    assert "Benghazi" in load_document(fine, int(small.max_file_mb * 1e6)).text


# --- 5: the corpus is scanned under the lock; machines sharing a Chroma server lock there --------

def test_ingest_that_waited_for_the_lock_sees_files_added_meanwhile(settings):
    import threading
    import time

    from filelock import FileLock

    settings.index_dir.mkdir(parents=True)
    other = FileLock(str(settings.index_dir / "ingest.lock"))
    other.acquire()  # another ingest is running
    outcome = {}
    waiting = threading.Thread(target=lambda: outcome.update(report=ingest(settings, show_progress=False,
                                                                           lock_wait_s=120)))
    waiting.start()
    time.sleep(3)  # the waiting ingest is blocked on the lock by now
    (settings.corpus_dir / "added-meanwhile.txt").write_text("The Tobruk harbour master resigned in May.\n")
    other.release()
    waiting.join(timeout=300)
    assert "added-meanwhile.txt" in outcome["report"].added
    assert "added-meanwhile.txt" in Store(settings).file_records()


def test_two_machines_on_one_chroma_collection_take_turns(tmp_path, corpus_copy, chroma_server):
    import time

    from rag.errors import IndexBusyError
    from rag.locks import ChromaIngestLock

    host, port = chroma_server
    shared = dict(chroma_host=host, chroma_port=port, collection="two-machines")
    first = make_settings(tmp_path / "machine-a", corpus_dir=corpus_copy, **shared)
    second = make_settings(tmp_path / "machine-b", corpus_dir=corpus_copy, **shared)
    with ChromaIngestLock(Store(first), wait_s=1):  # machine A is ingesting
        started = time.monotonic()
        with pytest.raises(IndexBusyError, match="two-machines"):
            ingest(second, show_progress=False, lock_wait_s=2)
        assert time.monotonic() - started < 30
    report = ingest(second, show_progress=False, lock_wait_s=2)
    assert len(report.added) == ARTICLES
    assert set(Store(first).file_records()) == set(report.added)  # the lock record is not a file


def test_a_stale_chroma_lock_of_a_crashed_machine_is_taken_over(tmp_path, corpus_copy, chroma_server):
    from rag.locks import ChromaIngestLock

    host, port = chroma_server
    s = make_settings(tmp_path, corpus_dir=corpus_copy, chroma_host=host, chroma_port=port,
                      collection="stale-lock", ingest_lock_ttl_s=10)
    crashed = ChromaIngestLock(Store(s), wait_s=1)
    crashed.__enter__()
    crashed.stop_heartbeat()  # the machine died: nobody renews the record
    report = ingest(s, show_progress=False, lock_wait_s=30)
    assert len(report.added) == ARTICLES


# --- 12: BM25 builds in one process; a failed rebuild is logged ----------------------------------

def test_two_bm25_builds_in_one_process_do_not_collide(settings):
    from concurrent.futures import ThreadPoolExecutor

    from rag import bm25

    ingest(settings, show_progress=False)
    store = Store(settings)
    signature = bm25.corpus_signature(store.file_records())
    with ThreadPoolExecutor(2) as pool:
        for _ in range(3):
            list(pool.map(lambda _: bm25.build(store, settings.bm25_path, signature), range(2)))
    assert bm25.stored_signature(settings.bm25_path) == signature
    assert bm25.load(settings.bm25_path) is not None
    leftovers = [p.name for p in settings.index_dir.iterdir() if p.name.startswith("bm25.")]
    assert not leftovers, leftovers


@pytest.fixture
def frozen(tmp_path):
    """Makes a folder unwritable (for root, immutable through chattr); undone at the end."""
    import shutil
    import subprocess

    frozen_dirs = []

    def freeze(folder):
        if os.geteuid() == 0:
            if not shutil.which("chattr"):
                pytest.skip("running as root without chattr: cannot make a folder unwritable")
            subprocess.run(["chattr", "+i", str(folder)], check=True)
        else:
            folder.chmod(0o555)
        frozen_dirs.append(folder)

    yield freeze
    for folder in frozen_dirs:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(folder)], check=False)
        else:
            folder.chmod(0o755)


def test_a_failed_bm25_rebuild_is_logged_not_silent(settings, frozen, caplog):
    import logging

    from rag.retrieve import Retriever

    ingest(settings, show_progress=False)
    (settings.corpus_dir / "more.txt").write_text("The Derna dam report was published in March.\n")
    ingest(settings.replace(index_dir=settings.index_dir), show_progress=False)
    (settings.bm25_path / "signature.json").write_text('{"signature": "stale"}')
    frozen(settings.index_dir)
    with caplog.at_level(logging.WARNING, logger="rag.retrieve"):
        hits = Retriever(settings).search("Where was the conference held?", k=3, mode="bm25")
    assert hits  # the persisted index still answers
    assert any("BM25" in r.getMessage() and str(settings.index_dir) in r.getMessage() for r in caplog.records), \
        [r.getMessage() for r in caplog.records]


# --- 14: a failed write does not leave the reader thread blocked ----------------------------------

def test_a_failed_ingest_leaves_no_reader_thread_behind(tmp_path):
    import subprocess
    import sys
    import threading
    import time
    from pathlib import Path

    from rag.embedding import backend
    from rag.errors import BackendError
    from tests.embedding_server import embeddings_server
    from tests.helpers import free_port, wait_for_port
    from tests.helpers import make_big_corpus

    corpus = tmp_path / "corpus"
    make_big_corpus(corpus, files=8)
    port = free_port()
    server = subprocess.Popen([str(Path(sys.executable).parent / "chroma"), "run", "--path", str(tmp_path / "data"),
                               "--host", "127.0.0.1", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        local = backend(make_settings(tmp_path / "local"))
        # Only an ingest through an embeddings server reads and writes in threads beside the embedding.
        with embeddings_server(lambda texts: local.embed(texts, 32)) as (url, _):
            wait_for_port(port)
            settings = make_settings(tmp_path, corpus_dir=corpus, chroma_host="127.0.0.1", chroma_port=port,
                                     embed="openai", embed_openai_base_url=url, embed_openai_model="all-MiniLM-L6-v2",
                                     embed_batch_size=4)  # small batches: the reader runs ahead and waits

            def stop_chroma_after_the_first_write():
                store = Store(settings)
                while store.chunks.count() == 0:
                    time.sleep(0.05)
                server.terminate()

            killer = threading.Thread(target=stop_chroma_after_the_first_write, daemon=True)
            killer.start()
            with pytest.raises(BackendError):
                ingest(settings, show_progress=False)
            killer.join(timeout=60)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and any(t.name == "ingest-reader" for t in threading.enumerate()):
                time.sleep(0.1)
            assert not [t.name for t in threading.enumerate() if t.name == "ingest-reader"]
    finally:
        server.terminate()
        server.wait(timeout=20)
