"""The chat UI through its API (gradio_client) and its plain functions: answers with citations,
refusals, follow-ups, uploads and removals, rejected uploads, escaping, binding rules."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from rag.answer.results import Citation
from rag.errors import ConfigError, InputError
from tests.helpers import REPO, free_port, make_settings, running_ui
from rag import corpus
from ui.render import render_answer, render_sources
from ui.session import launch_auth, parse_history

ON_TOPIC = "Which general met with General Mohammed al-Haddad in Botswana?"
OFF_TOPIC = "What is the best recipe for a chocolate cake with strawberries?"
NEW_DOC = ("The Zarvok lighthouse on the island of Quillmere was built in 1887 by the engineer "
           "Ottilie Brandvang. Its lamp is visible from 41 kilometres away on clear nights.\n")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_ui(tmp_path_factory.mktemp("ui-api")) as (url, settings):
        yield url, settings


@pytest.fixture(scope="module")
def client(server):
    from gradio_client import Client

    return Client(server[0], verbose=False)


def ask(client, question, history=None):
    result = client.predict(question, json.dumps(history or []), "", 0, "", api_name="/ask")
    assert "error" not in result, result
    return result


# --- answers through the API ----------------------------------------------------------------------

def test_api_lists_named_endpoints(client):
    names = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    # The chat stream, page-load and reset handlers are private: only deliberate endpoints are public.
    assert set(names) == {"/ask", "/upload", "/remove", "/reindex", "/documents"}


def test_answer_has_a_citation_matching_its_number(client, server):
    result = ask(client, ON_TOPIC)
    assert not result["refused"]
    assert "Langley" in result["answer"]
    assert result["citations"], result
    first = result["citations"][0]
    assert first["n"] == 1 and "[1]" in result["answer"]
    assert (server[1].corpus_dir / first["source"]).is_file()


def test_off_topic_question_is_refused(client):
    result = ask(client, OFF_TOPIC)
    assert result["refused"]


def test_follow_up_uses_the_history(client):
    first = ask(client, ON_TOPIC)
    follow = ask(client, "Where did that meeting take place?", [[ON_TOPIC, first["answer"]]])
    assert not follow["refused"], follow
    assert follow["standalone_question"] != "Where did that meeting take place?"
    assert "Botswana" in follow["answer"] or "Gaborone" in follow["answer"]


def test_history_accepts_chat_messages_with_content_parts():
    messages = [{"role": "user", "content": [{"type": "text", "text": "Q1"}]},
                {"role": "assistant", "content": "A1"}]
    assert parse_history(json.dumps(messages)) == [("Q1", "A1")]
    assert parse_history("[[\"q\", \"a\"]]") == [("q", "a")]
    with pytest.raises(InputError):
        parse_history("not json")


def test_upload_then_ask_about_the_new_document(client, server, tmp_path):
    from gradio_client import handle_file

    path = tmp_path / "quillmere lighthouse.txt"
    path.write_text(NEW_DOC, encoding="utf-8")
    status, *_ = client.predict([handle_file(str(path))], api_name="/upload")
    assert "added quillmere lighthouse.txt" in status.replace("\\", "")
    assert "quillmere lighthouse.txt" in {d["source"] for d in client.predict(api_name="/documents")}
    result = ask(client, "Who built the Zarvok lighthouse?")
    assert not result["refused"]
    assert "Brandvang" in result["answer"]
    assert result["citations"][0]["source"] == "quillmere lighthouse.txt"

    status, *_ = client.predict("quillmere lighthouse.txt", api_name="/remove")
    assert "removed" in status
    assert not (server[1].corpus_dir / "quillmere lighthouse.txt").exists()
    assert "quillmere lighthouse.txt" not in {d["source"] for d in client.predict(api_name="/documents")}


def test_disallowed_upload_through_the_api_is_rejected(client, server, tmp_path):
    from gradio_client import handle_file

    bad = tmp_path / "payload.exe"
    bad.write_bytes(b"MZ not a document")
    from gradio_client.exceptions import AppError

    # Gradio's file_types check refuses it before our handler (which refuses it too: tests below).
    with pytest.raises(AppError, match="Invalid file type"):
        client.predict([handle_file(str(bad))], api_name="/upload")
    assert not list(server[1].corpus_dir.glob("payload*"))


# --- upload and removal rules (plain functions) ---------------------------------------------------

@pytest.mark.parametrize("name, expected", [
    ("../../etc/evil.txt", "evil.txt"),
    ("..\\..\\windows\\evil.md", "evil.md"),
    ("/abs/path/report.PDF", "report.pdf"),
    ("bad\x00name\x1b.txt", "badname.txt"),
    ("..hidden.txt", "hidden.txt"),
    ("a..b.txt", "a.b.txt"),
    ("<b>x</b>.html", "b_.html"),
    ("what?*:|\"<>.md", "what_.md"),
])
def test_file_names_are_sanitized(name, expected):
    assert corpus.sanitize_filename(name) == expected


@pytest.mark.parametrize("name", ["evil.exe", "noext", "..", "../", ".txt", "x.txt.sh"])
def test_unusable_names_are_rejected(name):
    with pytest.raises(InputError):
        corpus.sanitize_filename(name)


def test_upload_cannot_escape_the_corpus(settings, tmp_path):
    src = tmp_path / "upload.bin"
    src.write_text("hello world, this is a note.\n")
    name = corpus.save_upload(settings, src, "../../../outside.txt")
    assert name == "outside.txt"
    assert (settings.corpus_dir / "outside.txt").is_file()
    assert not (tmp_path / "outside.txt").exists() and not (tmp_path.parent / "outside.txt").exists()


def test_oversize_and_empty_uploads_are_rejected(settings, tmp_path):
    small = settings.replace(upload_max_mb=0.001)
    big = tmp_path / "big.txt"
    big.write_text("x" * 5000)
    with pytest.raises(InputError, match="upload limit"):
        corpus.save_upload(small, big, "big.txt")
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.raises(InputError, match="empty"):
        corpus.save_upload(settings, empty, "empty.txt")
    assert not (settings.corpus_dir / "big.txt").exists()


def test_removal_stays_inside_the_corpus(settings, tmp_path):
    outside = tmp_path / "keep.txt"
    outside.write_text("not yours")
    for bad in ("../keep.txt", "", "/etc/passwd", "."):
        with pytest.raises(InputError):
            corpus.remove_document(settings, bad)
    assert outside.exists()


# --- escaping ------------------------------------------------------------------------------------

def _Cite(**kw) -> Citation:
    return Citation(**(dict(n=1, id="c1", source="x.txt", title="T", start=0, end=0, text="",
                            score=0.5, cited=True, supported=True) | kw))


def test_sources_panel_escapes_document_text(settings):
    evil = '<img src=x onerror="alert(1)"><script>alert(2)</script> ${alert(3)} {{value}}'
    out = render_sources([_Cite(text=evil, title="<b>t</b>", source="<i>.txt")], settings)
    assert "<img" not in out and "<script" not in out and "<b>" not in out and "<i>" not in out
    assert "&lt;script&gt;" in out and "${" not in out and "{{" not in out


def test_sources_panel_highlights_the_span_in_its_file(settings):
    path = settings.corpus_dir / "note.txt"
    path.write_text("Before text. The cited sentence is here. After text.")
    start = path.read_text().index("The cited")
    end = start + len("The cited sentence is here.")
    out = render_sources([_Cite(source="note.txt", start=start, end=end, text="The cited sentence is here.")], settings)
    assert 'Before text. <span class="rag-span">The cited sentence is here.</span> After text.' in out
    quoted = render_sources([_Cite(source="note.txt", start=start, end=end, text="The cited sentence is here.")],
                            settings, quotes={1: ["The cited sentence is here"]})
    assert '<mark class="rag-quote">The cited sentence is here</mark>.' in quoted


def test_uncited_passages_are_folded_away(settings):
    out = render_sources([_Cite(n=1), _Cite(n=2, cited=False, supported=None)], settings)
    assert '<div class="rag-source rag-cited" id="rag-source-1">' in out
    assert '<details class="rag-source rag-uncited" id="rag-source-2">' in out


def test_refusal_and_unsupported_sentences_are_marked():
    class R:
        refused, answer, sentences = True, "I don't know based on the documents.", []
    assert "Not found in the documents" in render_answer(R) and render_answer(R).startswith(">")

    class S:
        def __init__(self, text, supported):
            self.text, self.supported, self.citations = text, supported, [1]

    class A:
        refused, answer = False, "a [1]. b [1]."
        sentences = [S("a <script> [1].", True), S("b [1].", False)]
    out = render_answer(A)
    assert "⚠" in out and "<script>" not in out and "&lt;script&gt;" in out


# --- binding ---------------------------------------------------------------------------------------

def test_loopback_needs_no_password(tmp_path):
    assert launch_auth(make_settings(tmp_path)) is None
    assert launch_auth(make_settings(tmp_path, host="::1")) is None


def test_non_loopback_bind_without_auth_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="RAG_AUTH_USER"):
        launch_auth(make_settings(tmp_path, host="0.0.0.0"))
    with pytest.raises(ConfigError, match="both"):
        launch_auth(make_settings(tmp_path, host="0.0.0.0", auth_user="me"))
    assert launch_auth(make_settings(tmp_path, host="0.0.0.0", auth_user="me", auth_password="pw")) == ("me", "pw")
    assert launch_auth(make_settings(tmp_path, host="0.0.0.0", allow_open=True)) is None


def _serve_env(tmp_path: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update({"RAG_CORPUS_DIR": str(tmp_path / "corpus"), "RAG_INDEX_DIR": str(tmp_path / "index"),
                "RAG_LLM": "extractive", "RAG_CONFIG": str(tmp_path / "none.toml")} | extra)
    (tmp_path / "none.toml").write_text("")
    return env


def test_rag_serve_refuses_an_open_non_loopback_bind(tmp_path):
    (tmp_path / "corpus").mkdir()
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "rag", "serve", "--host", "0.0.0.0", "--port", str(free_port())],
                          env=_serve_env(tmp_path), capture_output=True, text=True, timeout=60, cwd=REPO)
    assert done.returncode == 2
    assert "without a password" in done.stderr
    assert time.monotonic() - started < 10  # refused before Gradio is even imported


@pytest.mark.slow
def test_rag_serve_is_ready_quickly_on_an_existing_index(default_index, tmp_path):
    """`rag serve` answers HTTP within 15 s on an existing index (measured, printed for the report)."""
    import urllib.request

    port = free_port()
    env = _serve_env(tmp_path, RAG_CORPUS_DIR=str(default_index.corpus_dir), RAG_INDEX_DIR=str(default_index.index_dir))
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "rag", "serve", "--port", str(port)], env=env, cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        ready = None
        while time.monotonic() - started < 60 and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as page:
                    if page.status == 200:
                        ready = time.monotonic() - started
                        break
            except OSError:
                time.sleep(0.2)
        assert ready is not None, proc.stderr.read() if proc.poll() is not None else "not ready in 60 s"
        print(f"\nrag serve ready in {ready:.1f} s")
        assert ready < 15
        with socket.create_connection(("127.0.0.1", port)):
            pass
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_ask_endpoint_works_with_only_a_question(client):
    result = client.predict("Which general met with General Mohammed al-Haddad in Botswana?", api_name="/ask")
    assert result["citations"] and not result["refused"]
    assert client.predict("   ", api_name="/ask")["error"].startswith("the question is empty")


def test_a_password_protects_the_app_and_its_api(tmp_path_factory):
    from gradio_client import Client

    with running_ui(tmp_path_factory.mktemp("ui-auth"), auth_user="alice", auth_password="s3cret") as (url, _):
        with pytest.raises(Exception):
            Client(url, verbose=False).predict("Who is Langley?", api_name="/ask")
        result = Client(url, auth=("alice", "s3cret"), verbose=False).predict("Who is Langley?", api_name="/ask")
        assert "error" not in result
        # The OpenAI-compatible API has no login of its own: without RAG_API_KEY it stays closed.
        assert httpx.get(url + "v1/models").status_code == 401


def test_openai_api_on_loopback_needs_no_key(server):
    from openai import OpenAI

    api = OpenAI(base_url=server[0] + "v1", api_key="anything", max_retries=0)
    assert "rag" in [m.id for m in api.models.list()]
    reply = api.chat.completions.create(model="rag", messages=[{"role": "user", "content": ON_TOPIC}])
    assert "Langley" in reply.choices[0].message.content and reply.choices[0].message.citations
