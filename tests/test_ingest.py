import os
import signal
import subprocess
import sys
import time

import pytest

from rag.cli import main
from rag.ingest import ingest
from tests.helpers import index_state, make_big_corpus, make_settings


def test_first_ingest_then_idempotent(settings):
    first = ingest(settings, show_progress=False)
    assert sorted(first.added) == sorted(p.name for p in settings.corpus_dir.iterdir())
    assert first.chunks_added == first.chunks_total > 5 and not first.failed
    before = index_state(settings)
    bm25_before = (settings.bm25_path / "signature.json").stat().st_mtime_ns

    os.utime(next(settings.corpus_dir.iterdir()))  # a new mtime alone must not re-embed anything
    second = ingest(settings, show_progress=False)
    assert second.chunks_added == 0 and not second.changed and len(second.skipped) == 2
    assert not second.bm25_rebuilt
    assert (settings.bm25_path / "signature.json").stat().st_mtime_ns == bm25_before
    assert index_state(settings) == before


def test_changed_added_deleted_files(settings):
    ingest(settings, show_progress=False)
    corpus = settings.corpus_dir
    assad = corpus / "libya-russia-us-strategic-competition-after-fall-of-assad.txt"
    langley = corpus / "US-pushes-unified-Libyan-army-to-counter-Russian-expansion.txt"
    assad.write_text(assad.read_text() + "\nUpdate: the delegation returned to Benghazi in January 2025.\n")
    langley.unlink()
    sub = corpus / "more"
    sub.mkdir()
    (sub / "note.md").write_text("# Zarzis note\n\nThe Zarzis harbour reopened after repairs.\n")

    report = ingest(settings, show_progress=False)
    assert report.updated == [assad.name] and report.removed == [langley.name]
    assert report.added == ["more/note.md"]

    state = index_state(settings)
    sources = {meta["source"] for _, meta in state.values()}
    assert sources == {assad.name, "more/note.md"}
    assert any("January 2025" in text for text, _ in state.values())
    # A clean build of the same files gives exactly the same chunks: nothing stale, nothing doubled.
    clean = make_settings(settings.index_dir.parent / "clean", corpus_dir=corpus)
    ingest(clean, show_progress=False)
    assert index_state(clean) == state


def test_bad_files_are_skipped_and_named(settings, tmp_path, capsys, monkeypatch):
    corpus = settings.corpus_dir
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "binary.txt").write_bytes(bytes(range(256)) * 10)
    (corpus / "latin1.txt").write_bytes("Benghazi caf\u00e9".encode("latin-1"))
    (corpus / "corrupt.pdf").write_bytes(b"%PDF-1.7\n%garbage")
    outside = tmp_path / "secret.txt"
    outside.write_text("top secret outside the corpus")
    (corpus / "link.txt").symlink_to(outside)
    (corpus / "weird name $(rm -rf) ü.txt").write_text("Tobruk port statistics for 2023.")

    monkeypatch.chdir(tmp_path)
    code = main(["ingest", "--corpus", str(corpus), "--index", str(settings.index_dir), "-q"])
    captured = capsys.readouterr()
    assert code == 3
    for name, reason in [("empty.txt", "empty file"), ("binary.txt", "binary"), ("latin1.txt", "not UTF-8"),
                         ("corrupt.pdf", "cannot parse .pdf"), ("link.txt", "outside the corpus")]:
        assert f"skipped {name}: " in captured.err and reason in captured.err
    assert "Traceback" not in captured.err
    sources = {meta["source"] for _, meta in index_state(settings).values()}
    assert sources == {"libya-russia-us-strategic-competition-after-fall-of-assad.txt",
                       "US-pushes-unified-Libyan-army-to-counter-Russian-expansion.txt",
                       "weird name $(rm -rf) ü.txt"}
    assert not any("top secret" in text for text, _ in index_state(settings).values())


def test_file_that_turns_bad_loses_its_old_chunks(settings):
    ingest(settings, show_progress=False)
    victim = settings.corpus_dir / "libya-russia-us-strategic-competition-after-fall-of-assad.txt"
    victim.write_bytes(b"\xff\xfe\x00garbage")
    report = ingest(settings, show_progress=False)
    assert victim.name in report.failed
    assert {m["source"] for _, m in index_state(settings).values()} == {
        "US-pushes-unified-Libyan-army-to-counter-Russian-expansion.txt"}


def test_rebuild_reembeds_everything(settings):
    first = ingest(settings, show_progress=False)
    again = ingest(settings, rebuild=True, show_progress=False)
    assert again.chunks_added == first.chunks_total and len(again.updated) == 2


def test_missing_corpus_is_a_clear_error(tmp_path, capsys):
    code = main(["ingest", "--corpus", str(tmp_path / "nope"), "--index", str(tmp_path / "idx"), "-q"])
    assert code == 2 and "corpus folder" in capsys.readouterr().err


@pytest.mark.parametrize("kill_after_batches", [1, 3])
def test_kill_9_during_ingest_is_repaired(tmp_path, kill_after_batches):
    corpus = tmp_path / "corpus"
    make_big_corpus(corpus)
    settings = make_settings(tmp_path, corpus_dir=corpus, embed_batch_size=4)  # small batches: many writes
    env = dict(os.environ, RAG_CORPUS_DIR=str(corpus), RAG_INDEX_DIR=str(settings.index_dir),
               RAG_EMBED_BATCH_SIZE="4", PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "rag", "ingest"], env=env, cwd=tmp_path,
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    seen = ""
    deadline = time.monotonic() + 300
    # tqdm redraws with \r; kill once the bar shows the wanted number of files written.
    while proc.poll() is None and time.monotonic() < deadline:
        seen += proc.stderr.read(1)
        if f"| {kill_after_batches * 1}/" in seen[-80:] or f"| {kill_after_batches + 1}/" in seen[-80:]:
            break
    assert proc.poll() is None, "ingest ended before it could be killed; make the corpus bigger"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    repair = ingest(settings, show_progress=False)
    assert repair.chunks_total > 0
    clean = make_settings(tmp_path / "clean", corpus_dir=corpus)
    ingest(clean, show_progress=False)
    assert index_state(settings) == index_state(clean)
    assert ingest(settings, show_progress=False).chunks_added == 0


def test_second_ingest_waits_then_refuses(settings):
    from rag.errors import IndexBusyError
    from rag.locks import IngestFileLock

    with IngestFileLock(settings, wait_s=0):
        with pytest.raises(IndexBusyError, match="another ingest is running"):
            ingest(settings, show_progress=False, lock_wait_s=0.2)
    assert ingest(settings, show_progress=False).chunks_total > 0


def test_ingest_into_chroma_server(chroma_server, tmp_path, corpus_copy):
    host, port = chroma_server
    settings = make_settings(tmp_path, chroma_host=host, chroma_port=port, collection="server_ingest")
    first = ingest(settings, show_progress=False)
    assert first.chunks_total > 5 and not first.failed
    assert ingest(settings, show_progress=False).chunks_added == 0
    embedded = make_settings(tmp_path / "embedded", corpus_dir=corpus_copy)
    ingest(embedded, show_progress=False)
    assert index_state(settings).keys() == index_state(embedded).keys()
