"""Launching the Gradio app: `rag serve`, and `serving()` for tests and benchmarks.

Binds settings.host (127.0.0.1 unless told otherwise), asks for login off loopback (ui/session.py),
checks Host headers (ui/hosts.py), and holds the embedded index's single-writer lock while served.
"""
from __future__ import annotations

import signal
import sys
import threading
import time
from contextlib import contextmanager

from rag.config import Settings
from ui.app import CSS, build_app, theme
from ui.hosts import host_check_app_kwargs
from ui.session import launch_auth


def _hold_index_while_served(demo, settings: Settings) -> None:
    """The served app is the only writer of an embedded index (see rag.locks.hold_served_index);
    the lock is released when the app is closed."""
    from rag.locks import hold_served_index

    held = hold_served_index(settings)
    if held is None:
        return
    close = demo.close

    def close_and_release(*args, **kwargs):
        try:
            return close(*args, **kwargs)
        finally:
            held.close()

    demo.close = close_and_release


def app_kwargs(demo, settings: Settings) -> dict:
    """The FastAPI arguments for the app Gradio builds: the Host check in front, and the OpenAI-compatible
    API mounted at /v1 (FastAPI's `routes` argument: in place before the server takes its first request)."""
    from starlette.routing import Mount

    from ui.openai_api import build_openai_app

    return host_check_app_kwargs(settings) | {"routes": [Mount("/v1", app=build_openai_app(demo.rag_app))]}


def launch(demo, settings: Settings, prevent_thread_lock: bool = False, quiet: bool = False):
    auth = launch_auth(settings)
    _hold_index_while_served(demo, settings)
    return demo.launch(server_name=settings.host, server_port=settings.port, auth=auth, share=False,
                       prevent_thread_lock=prevent_thread_lock, quiet=quiet, inbrowser=False,
                       max_file_size=int(settings.upload_limit_mb * 1e6), show_error=True,
                       theme=theme(), css=CSS, footer_links=["api"], ssr_mode=False, pwa=False,
                       mcp_server=False, enable_monitoring=False, app_kwargs=app_kwargs(demo, settings))


@contextmanager
def serving(settings: Settings):
    """The app running in a background thread on settings.host:port (tests, benchmarks); yields its
    URL and closes it on exit."""
    demo = build_app(settings)
    launch(demo, settings, prevent_thread_lock=True, quiet=True)
    try:
        yield f"http://127.0.0.1:{settings.port}/"
    finally:
        demo.close()


def _interrupt(signum, frame):
    """SIGTERM as Ctrl-C: the app closes and the exit handlers run (the export folder goes), where the
    default handler ended the process on the spot."""
    raise KeyboardInterrupt


def serve(settings: Settings) -> int:
    """`rag serve`: check the bind first (fails in milliseconds), then build and run until Ctrl-C."""
    started = time.perf_counter()
    launch_auth(settings)
    demo = build_app(settings)
    print(f"Starting the chat UI on http://{settings.host}:{settings.port} (Ctrl-C stops it)", file=sys.stderr)
    launch(demo, settings, prevent_thread_lock=True, quiet=True)
    print(f"ready in {time.perf_counter() - started:.1f} s: http://{settings.host}:{settings.port} "
          f"(OpenAI-compatible API: http://{settings.host}:{settings.port}/v1)", file=sys.stderr)
    # Models load once the page is up, so they never delay it; a question asked meanwhile just waits.
    threading.Thread(target=demo.rag_app.warm_up, name="warm-up", daemon=True).start()
    signal.signal(signal.SIGTERM, _interrupt)  # a service manager's stop ends it like Ctrl-C
    try:
        demo.block_thread()
    except KeyboardInterrupt:
        pass
    finally:
        demo.close()
    return 0
