"""Helpers shared by the test modules (fixtures are in conftest.py): isolated settings, free ports,
and an in-process UI server over a private copy of the corpus."""
from __future__ import annotations

import random
import shutil
import socket
import time
from contextlib import contextmanager
from pathlib import Path

from rag.config import Settings

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = REPO / "corpus"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def make_settings(tmp: Path, **overrides) -> Settings:
    """Settings isolated in `tmp`, ignoring any rag.toml or RAG_* of the developer's shell."""
    base = Settings()
    values = {"corpus_dir": tmp / "corpus", "index_dir": tmp / "index", "model_dir": REPO / ".models"}
    values.update(overrides)
    return base.replace(**values)


def index_state(settings) -> dict[str, tuple[str, dict]]:
    """Every chunk id with its text and metadata: two indexes are equal when these are."""
    from rag.store import Store

    store = Store(settings)
    return {cid: (text, {k: v for k, v in meta.items()}) for cid, text, meta in store.all_chunks()}


def make_big_corpus(target: Path, files: int = 24) -> None:
    """Distinct documents built from the seed sentences, enough for a few seconds of embedding."""
    sentences = " ".join(p.read_text() for p in (REPO / "corpus").iterdir()).split(". ")
    rng = random.Random(7)
    target.mkdir(parents=True, exist_ok=True)
    for i in range(files):
        rng.shuffle(sentences)
        (target / f"doc{i:03d}.txt").write_text(f"Report {i}\n\n" + ". ".join(sentences[:40]) + ".\n")


@contextmanager
def running_ui(tmp: Path, extra_files: dict[str, str | bytes] | None = None, **overrides):
    """Ingest a copy of the default corpus, launch the app on a free loopback port, yield (url, settings)."""
    from rag.ingest import ingest
    from ui.server import serving

    shutil.copytree(DEFAULT_CORPUS, tmp / "corpus")
    for name, content in (extra_files or {}).items():
        if isinstance(content, bytes):
            (tmp / "corpus" / name).write_bytes(content)
        else:
            (tmp / "corpus" / name).write_text(content, encoding="utf-8")
    settings = make_settings(tmp, **({"llm": "extractive", "port": free_port()} | overrides))
    ingest(settings, show_progress=False)
    with serving(settings) as url:
        wait_for_port(settings.port)
        yield url, settings


def external_news_set(cache: Path, questions: list[tuple[str, str, str]], llm_file: str, seconds: float) -> None:
    """`cache`/news laid out as eval.external leaves a set (corpus, index, questions.jsonl) over the
    default corpus, with `llm_file` holding what the LLM wrote for each (question, evidence, text) as
    a first run of eval.hyde or eval.multiquery leaves it, so scoring needs no LLM."""
    import json

    from rag.ingest import ingest

    folder = cache / "news"
    shutil.copytree(DEFAULT_CORPUS, folder / "corpus")
    settings = make_settings(folder, corpus_dir=folder / "corpus", index_dir=folder / "index", llm="extractive")
    assert not ingest(settings, show_progress=False).failed
    with (folder / "questions.jsonl").open("w") as out:
        for i, (question, evidence, _) in enumerate(questions):
            out.write(json.dumps({"id": f"q{i}", "question": question, "evidence": [evidence]}) + "\n")
    with (folder / llm_file).open("w") as out:
        for question, _, text in questions:
            out.write(json.dumps({"question": question, "passage": text, "seconds": seconds}) + "\n")
