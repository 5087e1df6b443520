"""Shared fixtures: real files in temporary folders, real Chroma (embedded and `chroma run`), the real
packaged embedding model. Nothing here fakes a component the project controls."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import rag  # noqa: F401  (sets the offline environment before anything else loads)
from rag.config import Settings
from tests.helpers import DEFAULT_CORPUS, free_port, make_settings, wait_for_port


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    """A writable copy of the default corpus."""
    target = tmp_path / "corpus"
    shutil.copytree(DEFAULT_CORPUS, target)
    return target


@pytest.fixture
def settings(tmp_path: Path, corpus_copy: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture(scope="session")
def default_index(tmp_path_factory) -> Settings:
    """The default corpus ingested once per test session (embedded Chroma), for read-only tests."""
    from rag.ingest import ingest

    tmp = tmp_path_factory.mktemp("default-index")
    shutil.copytree(DEFAULT_CORPUS, tmp / "corpus")
    s = make_settings(tmp)
    ingest(s, show_progress=False)
    return s


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    """A real `chroma run` server on a free loopback port; yields (host, port), stopped at the end."""
    data = tmp_path_factory.mktemp("chroma-server")
    port = free_port()
    chroma = Path(sys.executable).parent / "chroma"
    env = dict(os.environ, ANONYMIZED_TELEMETRY="False")
    proc = subprocess.Popen([str(chroma), "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        wait_for_port(port)
        yield "127.0.0.1", port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
