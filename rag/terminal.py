"""Text from documents printed to a terminal: control characters shown, never obeyed.

A document may contain escape sequences (ESC [2J clears the screen, OSC sets the window title, C1
CSI, bidirectional overrides reorder what the reader sees); the CLI prints document text, so each
such character is written as a visible escape instead."""
from __future__ import annotations

import unicodedata


def terminal_safe(text: str) -> str:
    return "".join(_visible(ch) for ch in str(text))


def _visible(ch: str) -> str:
    if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cf"):
        return ch
    return f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}"
