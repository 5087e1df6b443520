"""Regression tests for the UI findings of issue 11 (served app, documents tab, sources panel)."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import REPO, free_port, make_settings

QUESTION = "Where was the African Defense Chiefs Conference held?"


def serve_env(tmp_path: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update({"RAG_LLM": "extractive", "RAG_CONFIG": str(tmp_path / "none.toml")} | extra)
    (tmp_path / "none.toml").write_text("")
    return env


def wait_for_page(port: int, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as page:
                if page.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(proc.stderr.read() if proc.poll() is not None else "rag serve not up")


# --- 1: the first question after start-up --------------------------------------------------------

def test_first_question_the_moment_the_page_answers(default_index, tmp_path):
    """Finding 1: the warm-up thread and the first request imported llama-index at the same time."""
    from gradio_client import Client

    port = free_port()
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = serve_env(tmp_path, RAG_CORPUS_DIR=str(default_index.corpus_dir),
                    RAG_INDEX_DIR=str(default_index.index_dir), TMPDIR=str(temp))
    proc = subprocess.Popen([sys.executable, "-m", "rag", "serve", "--port", str(port)], env=env, cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_page(port, proc)
        result = Client(f"http://127.0.0.1:{port}/", verbose=False).predict(QUESTION, api_name="/ask")
        assert "error" not in result, result
        assert "Gaborone" in result["answer"]
        assert list(temp.glob("rag-export-*"))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    # SIGTERM (a service manager's stop) ends it like Ctrl-C: exit code 0, its export folder gone
    assert proc.returncode == 0 and not list(temp.glob("rag-export-*"))


# --- 3: a running server after an ingest by another process --------------------------------------

LIGHTHOUSE = ("The Zarvok lighthouse on the island of Quillmere was built in 1887 by the engineer "
              "Ottilie Brandvang. Its lamp is visible from 41 kilometres away on clear nights.\n")
BEACON = ("The Pellisand beacon near Orvatho harbour was lit for the first time in 1903 by the keeper "
          "Marius Ekvold. It flashes green every nine seconds.\n")


def cli_ingest(settings, **env_extra) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    settings.index_dir.parent.mkdir(parents=True, exist_ok=True)
    env.update(RAG_CONFIG=str(settings.index_dir.parent / "none.toml"), **env_extra)
    (settings.index_dir.parent / "none.toml").write_text("")
    return subprocess.run([sys.executable, "-m", "rag", "ingest", "-q", "--corpus", str(settings.corpus_dir),
                           "--index", str(settings.index_dir)], env=env, capture_output=True, text=True,
                          timeout=600, cwd=REPO)


def test_server_follows_an_ingest_through_a_chroma_server(tmp_path, chroma_server):
    """Finding 3: another machine ingests into the shared collection; the running server must drop
    the removed document (BM25 kept returning it) and find the added one, in every mode."""
    from gradio_client import Client

    from tests.helpers import running_ui

    host, port = chroma_server
    shared = dict(chroma_host=host, chroma_port=port, collection="follow-ingest")
    with running_ui(tmp_path / "server", extra_files={"lighthouse.txt": LIGHTHOUSE}, **shared) as (url, settings):
        client = Client(url, verbose=False)
        ask = lambda q, mode: client.predict(q, "", mode, 3, "", api_name="/ask")  # noqa: E731
        assert "Brandvang" in ask("Who built the Zarvok lighthouse on Quillmere?", "hybrid")["answer"]
        (settings.corpus_dir / "lighthouse.txt").unlink()
        (settings.corpus_dir / "beacon.txt").write_text(BEACON)
        elsewhere = make_settings(tmp_path / "other-machine", corpus_dir=settings.corpus_dir, **shared)
        done = cli_ingest(elsewhere, RAG_CHROMA_HOST=host, RAG_CHROMA_PORT=str(port), RAG_COLLECTION="follow-ingest")
        assert done.returncode == 0, done.stderr
        for mode in ("hybrid", "bm25", "dense"):
            after = ask("Who built the Zarvok lighthouse on Quillmere?", mode)
            assert "error" not in after, after
            assert all(c["source"] != "lighthouse.txt" for c in after["citations"]), (mode, after)
            added = ask("Who first lit the Pellisand beacon near Orvatho harbour?", mode)
            assert "Ekvold" in added["answer"], (mode, added)


def test_cli_ingest_is_refused_while_a_server_uses_the_embedded_index(tmp_path):
    """Finding 3: embedded Chroma keeps its vector index in the serving process's memory, so a second
    process writing to it made the server crash on vanished chunks. One writer: the server."""
    from gradio_client import Client

    from tests.helpers import running_ui

    with running_ui(tmp_path, extra_files={"lighthouse.txt": LIGHTHOUSE}) as (url, settings):
        (settings.corpus_dir / "lighthouse.txt").unlink()
        done = cli_ingest(settings)
        assert done.returncode == 5, done
        assert "rag serve" in done.stderr and "Traceback" not in done.stderr
        client = Client(url, verbose=False)
        still = client.predict("Who built the Zarvok lighthouse on Quillmere?", api_name="/ask")
        assert "error" not in still and "Brandvang" in still["answer"]
        client.predict(api_name="/reindex")  # the server's own re-index is the way to pick the change up
        gone = client.predict("Who built the Zarvok lighthouse on Quillmere?", "", "bm25", 3, "", api_name="/ask")
        assert all(c["source"] != "lighthouse.txt" for c in gone["citations"]), gone
    assert cli_ingest(settings).returncode == 0  # server stopped: the CLI may write again


def test_a_chunk_that_vanished_under_a_retriever_is_dropped(tmp_path):
    """Finding 3: a long-lived Retriever (chat, notebook) over an embedded index another process
    changed: hits whose chunk no longer resolves are dropped, not fatal; BM25 follows the manifest."""
    import shutil

    from rag.ingest import ingest
    from rag.retrieve import Retriever
    from tests.helpers import DEFAULT_CORPUS

    shutil.copytree(DEFAULT_CORPUS, tmp_path / "corpus")
    (tmp_path / "corpus" / "lighthouse.txt").write_text(LIGHTHOUSE)
    settings = make_settings(tmp_path)
    ingest(settings, show_progress=False)
    retriever = Retriever(settings)
    question = "Who built the Zarvok lighthouse on Quillmere?"
    assert retriever.search(question, k=3, mode="hybrid")[0].source == "lighthouse.txt"
    (settings.corpus_dir / "lighthouse.txt").unlink()
    assert cli_ingest(settings).returncode == 0
    for mode in ("dense", "bm25", "hybrid"):
        hits = retriever.search(question, k=3, mode=mode)
        assert all(h.source != "lighthouse.txt" and h.text for h in hits), (mode, hits)


# --- 6: uploads never silently overwrite another document ----------------------------------------

@pytest.mark.parametrize("first, second", [
    ("Q3 report?.txt", "Q3 report*.txt"),
    ("Notes.txt", "Notes.TXT"),
    ("a/b.txt", "c\\b.txt"),
])
def test_names_that_sanitise_alike_do_not_overwrite(settings, tmp_path, first, second):
    from rag import corpus as docs

    texts = {}
    for i, original in enumerate((first, second)):
        upload = tmp_path / f"upload{i}.bin"
        upload.write_text(f"Upload number {i} about the Sirte pipeline.\n")
        texts[docs.save_upload(settings, upload, original)] = upload.read_text()
    assert len(texts) == 2, texts  # two documents, neither replaced
    for name, text in texts.items():
        assert (settings.corpus_dir / name).read_text() == text


def test_upload_batch_says_when_a_name_was_changed(settings, tmp_path):
    from ui.handlers import ChatApp

    paths = []
    for folder, name in (("one", "Notes.txt"), ("two", "Notes.TXT"), ("three", "Notes.txt")):
        (tmp_path / folder).mkdir()
        paths.append(tmp_path / folder / name)
        paths[-1].write_text(f"{folder}: the Sirte pipeline report.\n")
    status, _, _ = ChatApp(settings).upload([str(p) for p in paths])
    assert "✓ added Notes.txt" in status
    assert "as Notes (2).txt" in status  # Notes.TXT would have replaced Notes.txt
    assert "same name" in status  # the second Notes.txt of the same batch
    assert (settings.corpus_dir / "Notes.txt").read_text().startswith("one:")


def test_simultaneous_uploads_of_one_name_do_not_share_a_partial_file(settings, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from rag import corpus as docs

    sources = []
    for i in range(2):
        sources.append(tmp_path / f"big{i}.txt")
        sources[-1].write_text(f"Version {i} of the Sirte pipeline report.\n" * 60_000)
    with ThreadPoolExecutor(2) as pool:
        for _ in range(10):
            list(pool.map(lambda src: docs.save_upload(settings, src, "report.txt"), sources))
    final = (settings.corpus_dir / "report.txt").read_text()
    assert final in {s.read_text() for s in sources}
    assert not [p for p in settings.corpus_dir.iterdir() if p.name.endswith(".part")]


# --- 7: every corpus file is listed and removable, from any session --------------------------------

def test_unindexed_files_are_listed_and_removable_from_a_fresh_api_session(tmp_path):
    from gradio_client import Client

    from tests.helpers import running_ui

    extra = {"blob.txt": "binary\x00content", "lighthouse.txt": LIGHTHOUSE}
    with running_ui(tmp_path, extra_files=extra) as (url, settings):
        listed = {d["source"]: d for d in Client(url, verbose=False).predict(api_name="/documents")}
        assert "binary" in listed["blob.txt"]["status"], listed
        assert listed["lighthouse.txt"]["status"] == "indexed"
        for name in ("blob.txt", "lighthouse.txt"):
            status, *_ = Client(url, verbose=False).predict(name, api_name="/remove")  # a new session each
            assert f"removed {name}" in status, status
            assert not (settings.corpus_dir / name).exists()
        listed = {d["source"] for d in Client(url, verbose=False).predict(api_name="/documents")}
        assert not {"blob.txt", "lighthouse.txt"} & listed


# --- 8: one unit and one limit for uploads and ingest --------------------------------------------

@pytest.mark.parametrize("upload_max_mb", [20.0, 50.0])
def test_an_upload_ingest_would_refuse_is_refused_at_upload(settings, tmp_path, upload_max_mb):
    from rag.errors import InputError
    from rag.loaders import load_document
    from rag import corpus as docs

    s = settings.replace(upload_max_mb=upload_max_mb)  # max_file_mb stays 20
    big = tmp_path / "big.txt"
    with big.open("wb") as handle:
        handle.truncate(20_500_000)  # 20.5 MB: over 20 MB, under 20 MiB
    with pytest.raises(InputError, match="upload limit is 20 MB"):
        docs.save_upload(s, big, "big.txt")
    with pytest.raises(InputError, match="too large"):
        load_document(big, s.max_file_bytes)
    assert not (s.corpus_dir / "big.txt").exists()


# --- 9: removing a symbolic link removes the link only -------------------------------------------

def test_removing_a_symlinked_document_keeps_its_target(settings, tmp_path):
    from rag import corpus as docs

    real = settings.corpus_dir / "real.txt"
    real.write_text("The Sirte pipeline report.\n")
    outside = tmp_path / "outside.txt"
    outside.write_text("Not part of the corpus.\n")
    (settings.corpus_dir / "link.txt").symlink_to(real)
    (settings.corpus_dir / "away.txt").symlink_to(outside)
    (settings.corpus_dir / "dangling.txt").symlink_to(tmp_path / "missing.txt")
    for name in ("link.txt", "away.txt", "dangling.txt"):
        assert docs.remove_document(settings, name) == name
        assert not (settings.corpus_dir / name).is_symlink()
    assert real.read_text() and outside.read_text()
    with pytest.raises(Exception, match="not a document"):
        docs.remove_document(settings, "../outside.txt")
    assert outside.exists()


# --- 11: DNS rebinding: requests must name this server in their Host header ----------------------

def _status(url: str, host: str) -> int:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url + "config", headers={"Host": host})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_requests_for_another_host_name_are_refused(tmp_path):
    from gradio_client import Client

    from tests.helpers import running_ui

    with running_ui(tmp_path, allowed_hosts="docs.internal") as (url, settings):
        port = settings.port
        assert _status(url, f"evil.example:{port}") == 400  # a rebound name pointing at 127.0.0.1
        assert _status(url, "evil.example") == 400
        for good in (f"127.0.0.1:{port}", f"localhost:{port}", f"docs.internal:{port}", "LOCALHOST"):
            assert _status(url, good) == 200, good
        assert "Gaborone" in Client(url, verbose=False).predict(QUESTION, api_name="/ask")["answer"]


def test_allowed_hosts_setting_is_validated(tmp_path):
    from rag.errors import ConfigError

    with pytest.raises(ConfigError, match="allowed_hosts"):
        make_settings(tmp_path, allowed_hosts="good.example, bad host/")


# --- 13: /ask parameters are bounded like the UI's ------------------------------------------------

def test_ask_bounds_top_k_history_and_backend(default_index):
    import json

    from ui.handlers import ChatApp

    app = ChatApp(default_index.replace(llm="extractive"))
    assert "error" not in app.ask(QUESTION, "", "", 10, "")
    assert "top_k" in app.ask(QUESTION, "", "", 11, "").get("error", "")
    assert "top_k" in app.ask(QUESTION, "", "", 50, "").get("error", "")
    long_history = json.dumps([["Where was it? " * 2_000, "In Gaborone [1]."]])
    assert "history" in app.ask(QUESTION, long_history, "", 3, "").get("error", "")
    many_turns = json.dumps([["Where was it?", "In Gaborone [1]. " * 400]] * 200)
    assert "history" in app.ask(QUESTION, many_turns, "", 3, "").get("error", "")
    assert "extractive" in app.ask(QUESTION, "", "", 3, "local").get("error", "")
    assert "error" not in app.ask(QUESTION, json.dumps([["Where was it?", "In Gaborone [1]."]] * 3), "", 3, "extractive")


# --- 14: an OSError while removing is a message, not Gradio's raw error popup ----------------------

def test_remove_reports_an_os_error_as_a_message(settings):
    import shutil as sh

    from ui.handlers import ChatApp

    corpus = settings.corpus_dir
    victim = sorted(corpus.iterdir())[0].name
    as_root = os.geteuid() == 0
    if as_root and not sh.which("chattr"):
        pytest.skip("running as root without chattr: cannot make a folder unwritable")
    subprocess.run(["chattr", "+i", str(corpus)], check=True) if as_root else corpus.chmod(0o555)
    try:
        status, _, _ = ChatApp(settings).remove(victim)
    finally:
        subprocess.run(["chattr", "-i", str(corpus)], check=False) if as_root else corpus.chmod(0o755)
    assert f"✗ cannot remove {victim}" in status, status
    assert (corpus / victim).exists()


# --- 16: the sources panel's document cache is bounded by size -------------------------------------

def test_sources_panel_cache_is_bounded_by_bytes(settings):
    from rag import corpus as render

    sentence = "The Sirte pipeline report names the contractor. "
    spans = {}
    for i in range(12):
        text = f"Report {i}. " + sentence * 60_000  # ~3 MB each, 36 MB in all
        (settings.corpus_dir / f"report{i}.txt").write_text(text)
        spans[f"report{i}.txt"] = (len(f"Report {i}. "), len(f"Report {i}. ") + len(sentence))
    for name, (start, end) in spans.items():
        before, span, after = render.source_context(settings, name, start, end, sentence)
        assert span == sentence and before.startswith("Report")
    assert render.cached_text_bytes() <= render.TEXT_CACHE_BYTES < 36_000_000
