"""Faults and bad configuration: each gives one clear message and a non-zero exit, and loses nothing."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rag.cli import main
from rag.errors import BackendError
from rag.ingest import ingest
from rag.retrieve import Retriever
from tests.helpers import free_port, index_state, make_big_corpus, make_settings, wait_for_port


def rag_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "rag", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, **(env or {})), cwd=Path(__file__).resolve().parents[1])


def test_wrong_chroma_host_is_named(tmp_path):
    closed = free_port()
    result = rag_cli("search", "Gaborone?", env={"RAG_CHROMA_HOST": "127.0.0.1", "RAG_CHROMA_PORT": str(closed),
                                                  "RAG_INDEX_DIR": str(tmp_path / "idx")})
    assert result.returncode == 4
    assert f"Chroma server at 127.0.0.1:{closed}" in result.stderr and "chroma run" in result.stderr
    assert "Traceback" not in result.stderr


def start_chroma(data: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([str(Path(sys.executable).parent / "chroma"), "run", "--path", str(data),
                             "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(port)
    return proc


def test_chroma_server_down_then_back_without_restart(tmp_path, corpus_copy):
    port = free_port()
    server = start_chroma(tmp_path / "chroma-data", port)
    try:
        settings = make_settings(tmp_path, chroma_host="127.0.0.1", chroma_port=port)
        ingest(settings, show_progress=False)
        retriever = Retriever(settings)  # lives across the outage, like the UI's
        before = [h.id for h in retriever.search("Where was the conference held?", k=3)]
        server.terminate()
        server.wait(timeout=20)
        with pytest.raises(BackendError, match="Chroma server at 127.0.0.1.*chroma run"):
            retriever.search("Where was the conference held?", k=3)
        server = start_chroma(tmp_path / "chroma-data", port)
        assert [h.id for h in retriever.search("Where was the conference held?", k=3)] == before
    finally:
        server.terminate()
        server.wait(timeout=20)


@pytest.fixture
def read_only_dir(tmp_path):
    """A folder nobody can write to. Root ignores modes, so for root the folder is made immutable."""
    folder = tmp_path / "locked-index"
    folder.mkdir()
    as_root = os.geteuid() == 0
    if as_root and not shutil.which("chattr"):
        pytest.skip("running as root without chattr: cannot make a folder unwritable")
    subprocess.run(["chattr", "+i", str(folder)], check=True) if as_root else folder.chmod(0o555)
    yield folder
    subprocess.run(["chattr", "-i", str(folder)], check=False) if as_root else folder.chmod(0o755)


def test_index_directory_without_write_permission(read_only_dir, corpus_copy):
    result = rag_cli("ingest", "--corpus", str(corpus_copy), "--index", str(read_only_dir / "idx"))
    assert result.returncode == 4, result.stderr
    assert f"cannot write to the index directory {read_only_dir / 'idx'}" in result.stderr
    assert "Traceback" not in result.stderr


def test_index_path_that_is_a_file(tmp_path, corpus_copy):
    not_a_dir = tmp_path / "index-file"
    not_a_dir.write_text("oops")
    code = main(["ingest", "--corpus", str(corpus_copy), "--index", str(not_a_dir), "-q"])
    assert code == 4 and not_a_dir.read_text() == "oops"


def test_oversize_file_skipped_quickly(settings):
    big = settings.corpus_dir / "huge.txt"
    with big.open("w") as handle:
        line = "Benghazi port logistics report line with several words.\n"
        handle.write(line * (50_000_000 // len(line) + 1))
    report = ingest(settings, show_progress=False)
    assert "too large" in report.failed["huge.txt"] and "max_file_mb" in report.failed["huge.txt"]
    assert len(report.added) == 2


def test_two_ingests_at_once_stay_consistent(tmp_path):
    corpus = tmp_path / "corpus"
    make_big_corpus(corpus, files=8)
    env = {"RAG_CORPUS_DIR": str(corpus), "RAG_INDEX_DIR": str(tmp_path / "index")}
    command = [sys.executable, "-m", "rag", "ingest", "-q"]
    procs = [subprocess.Popen(command, env=dict(os.environ, **env), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outcomes = [(p.wait(timeout=600), p.stdout.read(), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _, _ in outcomes)
    # Either the second waited for the first (then found nothing to do) or it refused after waiting.
    assert codes in ([0, 0], [0, 5]), outcomes
    if codes == [0, 5]:
        assert any("another ingest is running" in err for _, _, err in outcomes)
    clean = make_settings(tmp_path / "clean", corpus_dir=corpus)
    ingest(clean, show_progress=False)
    assert index_state(make_settings(tmp_path, corpus_dir=corpus)) == index_state(clean)


@pytest.mark.parametrize("question, code, message", [
    ("", 2, "the question is empty"),
    ("   \t\n  ", 2, "the question is empty"),
    ("Libya " * 20_000, 2, "the limit is 2,000"),
    ("?!... ,;", 2, "no words"),
])
def test_bad_questions_through_rag_ask(default_index, question, code, message):
    result = rag_cli("ask", question, "--llm", "extractive", "--index", str(default_index.index_dir),
                     "--corpus", str(default_index.corpus_dir))
    assert result.returncode == code and message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("question", [
    "¿Quién se reunió con el general al-Haddad en Botsuana?",  # another language
    "Where was the conference\x1b[31m held?\x07\x08",  # control characters (argv cannot carry NUL)
])
def test_odd_but_valid_questions_are_answered(default_index, question):
    result = rag_cli("ask", question, "--llm", "extractive", "--json", "--index", str(default_index.index_dir),
                     "--corpus", str(default_index.corpus_dir))
    assert result.returncode == 0, result.stderr
    import json
    answer = json.loads(result.stdout)
    assert not any(ch in answer["standalone_question"] for ch in "\x1b\x07\x08")


def test_ui_reports_chroma_outage_and_recovers(tmp_path):
    """The served UI keeps running through a Chroma server outage and answers again once it is back."""
    from gradio_client import Client

    from tests.helpers import running_ui

    port = free_port()
    server = start_chroma(tmp_path / "chroma-data", port)
    try:
        with running_ui(tmp_path / "ui", chroma_host="127.0.0.1", chroma_port=port) as (url, _):
            client = Client(url, verbose=False)
            question = "Where was the African Defense Chiefs Conference held?"
            assert "Gaborone" in client.predict(question, api_name="/ask")["answer"]
            server.terminate()
            server.wait(timeout=20)
            down = client.predict(question, api_name="/ask")
            assert "Chroma server at 127.0.0.1" in down["error"]
            server = start_chroma(tmp_path / "chroma-data", port)
            assert "Gaborone" in client.predict(question, api_name="/ask")["answer"]
    finally:
        server.terminate()
        server.wait(timeout=20)
