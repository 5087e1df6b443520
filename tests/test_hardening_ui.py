"""Regression tests for the UI findings of issue 11 (served app, documents tab, sources panel)."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, free_port, make_settings

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
    env = serve_env(tmp_path, RAG_CORPUS_DIR=str(default_index.corpus_dir),
                    RAG_INDEX_DIR=str(default_index.index_dir))
    proc = subprocess.Popen([sys.executable, "-m", "rag", "serve", "--port", str(port)], env=env, cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_page(port, proc)
        result = Client(f"http://127.0.0.1:{port}/", verbose=False).predict(QUESTION, api_name="/ask")
        assert "error" not in result, result
        assert "Gaborone" in result["answer"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
