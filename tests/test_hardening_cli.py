"""Regression tests for the CLI findings of issue 11: one-line errors, safe terminal output."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from rag.ingest import ingest
from tests.helpers import DEFAULT_CORPUS, REPO, make_settings


def rag_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    return subprocess.run([sys.executable, "-m", "rag", *args], capture_output=True, text=True, timeout=600,
                          env=clean | (env or {}), cwd=REPO)


def indexed_copy(tmp_path: Path, extra: dict[str, str] | None = None):
    shutil.copytree(DEFAULT_CORPUS, tmp_path / "corpus")
    for name, text in (extra or {}).items():
        (tmp_path / "corpus" / name).write_text(text)
    settings = make_settings(tmp_path, llm="extractive")
    ingest(settings, show_progress=False)
    return settings


# --- 14: an unexpected exception is one line, details with -v --------------------------------------

def test_unexpected_error_is_one_line_and_verbose_shows_details(tmp_path):
    settings = indexed_copy(tmp_path)
    (settings.bm25_path / "params.index.json").write_text("{not json")  # a damaged index file
    where = ["--index", str(settings.index_dir), "--corpus", str(settings.corpus_dir)]
    quiet = rag_cli("search", "Where was the conference held?", "--mode", "bm25", *where)
    assert quiet.returncode == 1, quiet
    assert "Traceback" not in quiet.stderr
    lines = [line for line in quiet.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "-v" in lines[0], quiet.stderr
    verbose = rag_cli("-v", "search", "Where was the conference held?", "--mode", "bm25", *where)
    assert verbose.returncode == 1 and "Traceback" in verbose.stderr


# --- 15: document text cannot drive the terminal; the API key is masked ---------------------------

ESCAPES = "Tripoli port \x1b[2J\x1b]0;owned\x07 reopened in May \x9b31m after repairs\u202e.\n"


def test_terminal_escape_sequences_in_documents_are_not_printed(tmp_path):
    settings = indexed_copy(tmp_path, {"escapes.txt": "Tripoli port notes\n\n" + ESCAPES})
    where = ["--index", str(settings.index_dir), "--corpus", str(settings.corpus_dir)]
    search = rag_cli("search", "When did Tripoli port reopen?", "--mode", "bm25", *where)
    ask = rag_cli("ask", "When did Tripoli port reopen after repairs?", "--llm", "extractive", *where)
    for done in (search, ask):
        assert done.returncode == 0, done.stderr
        assert "Tripoli" in done.stdout
        assert not any(ch in done.stdout for ch in "\x1b\x07\x9b\u202e"), repr(done.stdout)


def test_config_masks_the_api_key(tmp_path):
    env = {"RAG_OPENAI_API_KEY": "sk-very-secret-123", "RAG_CONFIG": str(tmp_path / "none.toml")}
    (tmp_path / "none.toml").write_text("")
    for args in (["config"], ["config", "--json"]):
        done = rag_cli(*args, env=env)
        assert done.returncode == 0 and "openai_api_key" in done.stdout
        assert "sk-very-secret-123" not in done.stdout
