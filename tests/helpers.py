"""An in-process UI server over a private copy of the corpus, shared by the UI test modules."""
from __future__ import annotations

import shutil
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import DEFAULT_CORPUS, free_port, make_settings, wait_for_port


@contextmanager
def running_ui(tmp: Path, extra_files: dict[str, str] | None = None, **overrides):
    """Ingest a copy of the default corpus, launch the app on a free loopback port, yield (url, settings)."""
    from rag.ingest import ingest
    from ui.app import build_app, launch

    shutil.copytree(DEFAULT_CORPUS, tmp / "corpus")
    for name, text in (extra_files or {}).items():
        (tmp / "corpus" / name).write_text(text, encoding="utf-8")
    settings = make_settings(tmp, **({"llm": "extractive", "port": free_port()} | overrides))
    ingest(settings, show_progress=False)
    demo = build_app(settings)
    launch(demo, settings, prevent_thread_lock=True, quiet=True)
    try:
        wait_for_port(settings.port)
        yield f"http://127.0.0.1:{settings.port}/", settings
    finally:
        demo.close()
