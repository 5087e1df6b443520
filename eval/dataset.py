"""Reading a question file (JSON Lines). Unknown fields are ignored so other people's files work;
every problem is reported with its line number, as an EvalInputError the CLI prints without a traceback."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from rag.errors import InputError


class EvalInputError(InputError):
    """A question file, corpus or flag the evaluation cannot use."""


@dataclass
class Question:
    id: str
    question: str
    answer: str = ""
    evidence: list[str] = field(default_factory=list)
    answerable: bool = True
    history: list[str] = field(default_factory=list)
    keywords: list[list[str]] = field(default_factory=list)
    kind: str = ""  # optional label (single-fact, follow-up, ...): the report breaks scores down by it
    generated: bool = False  # written by `python -m eval generate` (an LLM), not by a person
    # A follow-up's referent: the rewritten question must name one of these ("he" -> "Langley").
    resolves: list[str] = field(default_factory=list)


def _string_list(value, what: str, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise EvalInputError(f"{where}: '{what}' must be a list of strings")
    return value


def _keyword_groups(value, where: str) -> list[list[str]]:
    # A flat list of strings is read as one required string per group (a common shorthand).
    if value is None:
        return []
    if not isinstance(value, list):
        raise EvalInputError(f"{where}: 'keywords' must be a list of groups (lists of strings)")
    return [[g] if isinstance(g, str) else _string_list(g, "keywords", where) for g in value]


def parse_question(obj, where: str, fallback_id: str) -> Question:
    if not isinstance(obj, dict):
        raise EvalInputError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    text = obj.get("question")
    if not isinstance(text, str) or not text.strip():
        raise EvalInputError(f"{where}: 'question' is missing or empty")
    answerable = obj.get("answerable", True)
    if not isinstance(answerable, bool):
        raise EvalInputError(f"{where}: 'answerable' must be true or false")
    generated = obj.get("generated", False)
    if not isinstance(generated, bool):
        raise EvalInputError(f"{where}: 'generated' must be true or false")
    answer = obj.get("answer") or ""
    if not isinstance(answer, str):
        raise EvalInputError(f"{where}: 'answer' must be a string")
    return Question(
        id=str(obj.get("id") or fallback_id), question=text.strip(), answer=answer,
        evidence=_string_list(obj.get("evidence"), "evidence", where), answerable=answerable,
        history=_string_list(obj.get("history"), "history", where),
        keywords=_keyword_groups(obj.get("keywords"), where),
        kind=str(obj.get("kind") or ""), generated=generated,
        resolves=_string_list(obj.get("resolves"), "resolves", where),
    )


def read_jsonl(path: Path, what: str) -> list[tuple[str, object]]:
    """(where, object) for each line of a JSON Lines file ("path:line" for messages); blank lines
    and // comments skipped. `what` names the file in errors ("question file")."""
    if not path.is_file():
        raise EvalInputError(f"{what} {path} does not exist")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise EvalInputError(f"{what} {path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("//"):
            continue
        where = f"{path}:{number}"
        try:
            rows.append((where, json.loads(line)))
        except json.JSONDecodeError as exc:
            raise EvalInputError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
    return rows


def load_questions(path: Path) -> list[Question]:
    questions: list[Question] = []
    seen: set[str] = set()
    for where, obj in read_jsonl(path, "question file"):
        q = parse_question(obj, where, fallback_id=f"q{where.rsplit(':', 1)[1]}")
        if q.id in seen:
            raise EvalInputError(f"{where}: duplicate id {q.id!r}")
        seen.add(q.id)
        questions.append(q)
    if not questions:
        raise EvalInputError(f"question file {path} holds no questions")
    return questions


def write_questions(path: Path, questions: list[Question], extra: list[dict] | None = None) -> None:
    """One JSON object per question; `extra` adds fields per line (e.g. where a generated one came from)."""
    from dataclasses import asdict

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for i, q in enumerate(questions):
            row = {**asdict(q), **(extra[i] if extra else {})}
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
