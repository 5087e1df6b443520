"""Regression tests for the CLI findings of issue 11: one-line errors, safe terminal output."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from rag.ingest import ingest
from tests.conftest import DEFAULT_CORPUS, REPO, make_settings


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

