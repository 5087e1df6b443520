"""Plain text from Perl's POD documentation format, enough for a retrieval corpus.

pod2text exists only where the full `perl` package is installed; this small converter needs nothing.
Ordinary paragraphs are unwrapped onto one line each, because the chunker ends a sentence at every
line break; verbatim (code) paragraphs are kept as they are.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

ENTITIES = {"lt": "<", "gt": ">", "sol": "/", "verbar": "|", "quot": '"', "amp": "&", "apos": "'"}
SINGLE_CODE = re.compile(r"([A-Z])<([^<>]*)>")
MULTI_CODES = [re.compile(rf"([A-Z]){'<' * n}\s+(.+?)\s+{'>' * n}", re.DOTALL) for n in (4, 3, 2)]
SKIPPED_COMMANDS = ("=pod", "=cut", "=encoding", "=for", "=over", "=back")


def _entity(name: str) -> str:
    if name.isdigit():
        return chr(int(name))
    if name.lower().startswith("0x"):
        return chr(int(name, 16))
    return ENTITIES.get(name, "")


def _link(content: str) -> str:
    """L<text|target> shows text; L<page/"section"> shows "section" in page; L<url> shows the url."""
    if "|" in content:
        return content.split("|", 1)[0]
    if "://" in content:
        return content
    page, _, section = content.partition("/")
    section = section.strip('"')
    if section and page:
        return f'"{section}" in {page}'
    return section or page


def _code(letter: str, content: str) -> str:
    if letter in "XZ":
        return ""  # index entries and zero-width markers
    if letter == "E":
        return _entity(content)
    if letter == "L":
        return _link(content)
    return content  # C, B, I, F, S: the text without its formatting


def formatting_to_text(text: str) -> str:
    for pattern in MULTI_CODES:
        text = pattern.sub(lambda m: _code(m.group(1), formatting_to_text(m.group(2))), text)
    while True:
        new = SINGLE_CODE.sub(lambda m: _code(m.group(1), m.group(2)), text)
        if new == text:
            return new
        text = new


@dataclass
class Block:
    kind: str  # "head1".."head4", "item", "text", "verbatim"
    text: str


def blocks(pod: str) -> list[Block]:
    """POD paragraphs (blank-line separated) as typed blocks; =begin/=end regions are dropped."""
    out: list[Block] = []
    skipping = False
    for para in re.split(r"\n[ \t]*\n", pod.replace("\r\n", "\n")):
        if not para.strip():
            continue
        first = para.lstrip("\n")
        if first.startswith("=begin"):
            skipping = True
            continue
        if first.startswith("=end"):
            skipping = False
            continue
        if skipping or first.startswith(SKIPPED_COMMANDS):
            continue
        if first.startswith("=head") or first.startswith("=item"):
            command, _, rest = first.partition(" ")
            kind = command[1:] if command.startswith("=head") else "item"
            out.append(Block(kind, formatting_to_text(" ".join(rest.split()))))
        elif first.startswith("="):
            continue  # unknown command
        elif first[:1] in " \t":
            out.append(Block("verbatim", first.rstrip()))
        else:
            out.append(Block("text", formatting_to_text(" ".join(first.split()))))
    return out


def render(items: list[Block]) -> str:
    parts = []
    for b in items:
        if b.kind == "item":
            parts.append(b.text if b.text in ("*", "") else f"* {b.text}")
        elif b.text:
            parts.append(b.text)
    return "\n\n".join(p for p in parts if p.strip() and p.strip() != "*") + "\n"
