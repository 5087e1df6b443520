"""Runs ingest, ask (extractive and, with --local, the local LLM) and a served UI answering through
gradio_client, under an audit hook that records every socket connection and DNS look-up that is not
to loopback. Prints the violations as JSON and exits 1 if there are any.

Audit hooks cannot be removed once added, so this runs in its own process (see test_offline.py).
"""
from __future__ import annotations

import ipaddress
import json
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
violations: list[str] = []
LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", ""}


def is_loopback(host) -> bool:
    if host is None:
        return True
    host = host.decode() if isinstance(host, bytes) else str(host)
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def audit(event: str, args) -> None:
    if event == "socket.connect":
        address = args[1]
        if isinstance(address, tuple) and not is_loopback(address[0]):
            violations.append(f"connect {address}")
    elif event == "socket.getaddrinfo":
        if not is_loopback(args[0]):
            violations.append(f"DNS look-up {args[0]}")
    elif event == "socket.gethostbyname" and not is_loopback(args[0]):
        violations.append(f"DNS look-up {args[0]}")


def main() -> int:
    sys.addaudithook(audit)
    import rag  # noqa: F401
    from rag.answer import Answerer
    from rag.ingest import ingest
    from tests.helpers import make_settings
    from tests.helpers import running_ui

    work = Path(tempfile.mkdtemp(prefix="offline-probe-"))
    try:
        shutil.copytree(REPO / "corpus", work / "corpus")
        settings = make_settings(work, llm="extractive")
        ingest(settings, show_progress=False)
        steps = {"ingest": True}
        result = Answerer(settings).ask("Where was the African Defense Chiefs Conference held?")
        steps["ask extractive"] = bool(result.citations)
        if "--local" in sys.argv:
            local = Answerer(settings.replace(llm="local", max_new_tokens=24))
            steps["ask local"] = bool(local.ask("Where was the conference held?").answer)
        from gradio_client import Client

        with running_ui(work / "ui") as (url, _):
            answer = Client(url, verbose=False).predict("Who met General al-Haddad?", api_name="/ask")
            steps["ui ask"] = bool(answer.get("answer"))
        print(json.dumps({"violations": violations, "steps": steps}))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
