"""Debian packages as evaluation material: `apt-get download` once, `dpkg -x` once, reused after.

Only the package registry is reached (through apt); nothing runs from the package, it is only read.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

from eval.dataset import EvalInputError


def run_tool(cmd: list[str], cwd: Path) -> None:
    try:
        done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    except FileNotFoundError:
        raise EvalInputError(f"`{cmd[0]}` is not available: this step needs a Debian system (apt/dpkg)") from None
    if done.returncode != 0:
        hint = " (run `apt-get update` once if apt knows no such package)" if cmd[:2] == ["apt-get", "download"] else ""
        raise EvalInputError(f"`{' '.join(cmd)}` failed{hint}: {done.stderr.strip()[-400:]}")


def unpacked(package: str, cache: Path) -> Path:
    """The package's files under cache/unpacked-PACKAGE/ (downloaded and unpacked on first use)."""
    root = cache / f"unpacked-{package}"
    if (root / ".done").is_file():
        return root
    cache.mkdir(parents=True, exist_ok=True)
    debs = sorted(cache.glob(f"{package}_*.deb"))
    if not debs:
        run_tool(["apt-get", "download", package], cache)
        debs = sorted(cache.glob(f"{package}_*.deb"))
    if not debs:
        raise EvalInputError(f"apt-get download {package} produced no .deb in {cache}")
    run_tool(["dpkg", "-x", str(debs[-1].resolve()), str(root.resolve())], cache)
    (root / ".done").write_text(debs[-1].name)  # a half-unpacked tree (killed dpkg) is redone
    return root
