"""Nothing reaches outside: ingest, ask (extractive and local LLM) and the served UI under an audit hook."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = Path(__file__).with_name("offline_probe.py")


def run_probe(*flags: str) -> dict:
    result = subprocess.run([sys.executable, str(PROBE), *flags], capture_output=True, text=True, timeout=900)
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert lines, f"probe printed no result (exit {result.returncode}):\n{result.stderr[-3000:]}"
    return json.loads(lines[-1]) | {"exit": result.returncode}


def test_audit_hook_catches_outbound_connections():
    """The probe's hook must be able to fail: an outside connection attempt is recorded."""
    code = (
        "import sys, socket; sys.path.insert(0, %r); import offline_probe as p; sys.addaudithook(p.audit)\n"
        "s = socket.socket(); s.settimeout(0.01)\n"
        "try: s.connect(('192.0.2.1', 9))\nexcept OSError: pass\n"
        "print(p.violations)" % str(PROBE.parent))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout
    assert "192.0.2.1" in out


@pytest.mark.slow
def test_no_outbound_connections_anywhere():
    outcome = run_probe("--local")
    assert outcome["violations"] == [] and outcome["exit"] == 0
    assert outcome["steps"] == {"ingest": True, "ask extractive": True, "ask local": True, "ui ask": True}
