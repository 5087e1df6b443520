"""Other people's question files, mapped onto ours (eval.dataset.Question).

- native: our JSON Lines (eval/questions.jsonl).
- ragas: JSON (a list of objects, {"data": [...]}, or the column dict of a Hugging Face dataset) or
  JSON Lines with `question` (or `user_input`), `ground_truth` (or `reference`, `ground_truths`) and
  `contexts` (or `reference_contexts`, `retrieved_contexts`). The contexts become the evidence, the
  ground truth the gold answer; every question counts as answerable (RAGAS sets have no refusals).
  RAGAS's `answer`/`response` is a system's output, not a gold answer, so it is ignored.
- beir: a folder with queries.jsonl (`_id`, `text`), qrels/*.tsv (query-id, corpus-id, score; test.tsv
  when present, else every file) and corpus.jsonl (`_id`, `title`, `text`) or a corpus/ folder of
  files named by corpus id. A query's evidence is the text of its relevant passages (score > 0).
  When no --corpus is given, corpus.jsonl is written out as one text file per passage and ingested.

`--format auto` (the default) tells them apart by the path and the first record's fields.
"""
from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path

from eval.dataset import EvalInputError, Question, load_questions, parse_question, read_jsonl

FORMATS = ("auto", "native", "ragas", "beir")
RAGAS_QUESTION = ("question", "user_input")
RAGAS_ANSWER = ("ground_truth", "reference", "ground_truths")
RAGAS_CONTEXTS = ("reference_contexts", "contexts", "retrieved_contexts")
NATIVE_ONLY = ("evidence", "answerable", "keywords")


@dataclass
class QuestionSet:
    questions: list[Question]
    format: str
    corpus: Path | None = None  # a folder the set's own passages are in (BEIR), when it has one
    corpus_jsonl: Path | None = None  # BEIR corpus.jsonl, to be written out as files before ingesting


def load(path: Path, fmt: str = "auto") -> QuestionSet:
    if not path.exists():
        raise EvalInputError(f"question file {path} does not exist")
    fmt = detect(path) if fmt == "auto" else fmt
    if fmt == "native":
        if path.is_dir():
            raise EvalInputError(f"{path} is a folder: only a BEIR set (--format beir) is a folder")
        return QuestionSet(load_questions(path), "native")
    if fmt == "ragas":
        return QuestionSet(load_ragas(path), "ragas")
    if fmt == "beir":
        return load_beir(path)
    raise EvalInputError(f"unknown question format {fmt!r}: one of {', '.join(FORMATS)}")


# --- detection ----------------------------------------------------------------------------------
def _first_record(path: Path) -> object:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise EvalInputError(f"question file {path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    stripped = text.lstrip()
    if stripped.startswith("["):
        return "json"
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("//"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                return "json"  # a pretty-printed JSON document, not one object per line
    return None


def detect(path: Path) -> str:
    if path.is_dir():
        if (path / "queries.jsonl").is_file():
            return "beir"
        raise EvalInputError(f"{path} is a folder without queries.jsonl: not a BEIR set")
    if path.name == "queries.jsonl" and (path.parent / "qrels").is_dir():
        return "beir"
    if path.suffix.lower() == ".json":
        return "ragas"
    first = _first_record(path)
    if first == "json":
        return "ragas"
    if isinstance(first, dict):
        if "_id" in first and "text" in first and "question" not in first:
            return "beir"
        if any(k in first for k in RAGAS_ANSWER + RAGAS_CONTEXTS + ("user_input",)) and \
                not any(k in first for k in NATIVE_ONLY):
            return "ragas"
    return "native"


# --- RAGAS --------------------------------------------------------------------------------------
def _ragas_rows(path: Path) -> list[tuple[str, object]]:
    """(where, row) pairs from JSON (list, {"data": [...]}, column dict) or JSON Lines."""
    text = path.read_text(encoding="utf-8")
    try:
        whole = json.loads(text)
    except json.JSONDecodeError:
        whole = None
    if whole is None:  # JSON Lines
        rows = []
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    rows.append((f"{path}:{number}", json.loads(line)))
                except json.JSONDecodeError as exc:
                    raise EvalInputError(f"{path}:{number}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        return rows
    if isinstance(whole, dict) and any(isinstance(whole.get(k), str) for k in RAGAS_QUESTION):
        whole = [whole]  # JSON Lines with a single line
    elif isinstance(whole, dict):
        for key in ("data", "samples", "examples", "rows"):
            if isinstance(whole.get(key), list):
                whole = whole[key]
                break
        else:
            whole = _columns_to_rows(whole, path)
    if not isinstance(whole, list):
        raise EvalInputError(f"{path}: expected a list of question objects")
    return [(f"{path} item {i}", row) for i, row in enumerate(whole, start=1)]


def _columns_to_rows(columns: dict, path: Path) -> list[dict]:
    """A Hugging Face Dataset.to_dict(): {"question": [...], "ground_truth": [...], ...}."""
    lists = {k: v for k, v in columns.items() if isinstance(v, list)}
    lengths = {len(v) for v in lists.values()}
    if not any(k in lists for k in RAGAS_QUESTION) or len(lengths) != 1:
        raise EvalInputError(f"{path}: expected a list of question objects or equal-length columns "
                             f"including 'question'")
    n = lengths.pop()
    return [{k: v[i] for k, v in lists.items()} for i in range(n)]


def _pick(row: dict, keys: tuple[str, ...]):
    return next((row[k] for k in keys if row.get(k) not in (None, "", [])), None)


def ragas_question(row, where: str, number: int) -> Question:
    if not isinstance(row, dict):
        raise EvalInputError(f"{where}: expected a JSON object, got {type(row).__name__}")
    answer = _pick(row, RAGAS_ANSWER)
    if isinstance(answer, list):  # old RAGAS: ground_truths is a list; the first is the reference
        answer = answer[0] if answer and isinstance(answer[0], str) else None
    contexts = _pick(row, RAGAS_CONTEXTS)
    mapped = {"id": row.get("id") or f"r{number}", "question": _pick(row, RAGAS_QUESTION),
              "answer": answer or "", "evidence": contexts, "answerable": True, "kind": row.get("kind") or "ragas"}
    return parse_question(mapped, where, fallback_id=f"r{number}")


def load_ragas(path: Path) -> list[Question]:
    rows = _ragas_rows(path)
    questions = [ragas_question(row, where, i) for i, (where, row) in enumerate(rows, start=1)]
    if not questions:
        raise EvalInputError(f"question file {path} holds no questions")
    _check_unique(questions, path)
    return questions


def _check_unique(questions: list[Question], path: Path) -> None:
    seen: set[str] = set()
    for q in questions:
        if q.id in seen:
            raise EvalInputError(f"{path}: duplicate id {q.id!r}")
        seen.add(q.id)


# --- BEIR ---------------------------------------------------------------------------------------
def _jsonl_objects(path: Path) -> list[tuple[str, dict]]:
    rows = read_jsonl(path, "BEIR file")
    for where, obj in rows:
        if not isinstance(obj, dict) or "_id" not in obj:
            raise EvalInputError(f"{where}: expected an object with '_id'")
    return rows


def read_qrels(folder: Path) -> dict[str, list[str]]:
    """query id -> relevant corpus ids (score > 0), from test.tsv when there is one, else every file."""
    files = [folder / "test.tsv"] if (folder / "test.tsv").is_file() else sorted(folder.glob("*.tsv"))
    if not files:
        raise EvalInputError(f"no qrels file (*.tsv) in {folder}")
    relevant: dict[str, list[str]] = {}
    for file in files:
        with file.open(encoding="utf-8", newline="") as handle:
            for number, row in enumerate(csv.reader(handle, delimiter="\t"), start=1):
                if not row or (number == 1 and row[0].strip().lower() in ("query-id", "query_id", "qid")):
                    continue
                if len(row) < 3:
                    raise EvalInputError(f"{file}:{number}: expected query-id, corpus-id and score separated by tabs")
                try:
                    score = float(row[2])
                except ValueError:
                    raise EvalInputError(f"{file}:{number}: score {row[2]!r} is not a number") from None
                if score > 0:
                    relevant.setdefault(row[0].strip(), []).append(row[1].strip())
    return relevant


def _corpus_texts_from_jsonl(path: Path) -> dict[str, str]:
    return {str(obj["_id"]): str(obj.get("text") or "") for _, obj in _jsonl_objects(path)}


def _corpus_texts_from_folder(folder: Path, wanted: set[str]) -> dict[str, str]:
    """Files named by corpus id (with or without a suffix); plain text read directly."""
    from rag.loaders import load_document

    texts = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        for key in (path.name, path.stem):
            if key in wanted and key not in texts:
                texts[key] = load_document(path, max_bytes=200_000_000).text
    return texts


def load_beir(path: Path) -> QuestionSet:
    folder = path if path.is_dir() else path.parent
    queries_file = folder / "queries.jsonl" if path.is_dir() else path
    if not queries_file.is_file():
        raise EvalInputError(f"BEIR set {folder}: queries.jsonl is missing")
    qrels = read_qrels(folder / "qrels")
    wanted = {cid for ids in qrels.values() for cid in ids}
    corpus_jsonl = folder / "corpus.jsonl"
    if corpus_jsonl.is_file():
        texts, corpus_dir = _corpus_texts_from_jsonl(corpus_jsonl), None
    elif (folder / "corpus").is_dir():
        corpus_dir = folder / "corpus"
        texts = _corpus_texts_from_folder(corpus_dir, wanted)
    else:
        raise EvalInputError(f"BEIR set {folder}: neither corpus.jsonl nor a corpus/ folder")
    questions = []
    for where, obj in _jsonl_objects(queries_file):
        qid = str(obj["_id"])
        if qid not in qrels:
            continue  # a query of another split
        missing = [cid for cid in qrels[qid] if cid not in texts]
        if missing:
            raise EvalInputError(f"{where}: relevant passage(s) {', '.join(missing[:5])} not in the corpus")
        mapped = {"id": qid, "question": obj.get("text"), "evidence": [texts[cid] for cid in qrels[qid]],
                  "answerable": True, "kind": "beir"}
        questions.append(parse_question(mapped, where, fallback_id=qid))
    if not questions:
        raise EvalInputError(f"BEIR set {folder}: no query of queries.jsonl has a relevant passage in the qrels")
    return QuestionSet(questions, "beir", corpus=corpus_dir, corpus_jsonl=corpus_jsonl if corpus_dir is None else None)


def write_corpus_files(corpus_jsonl: Path, folder: Path) -> Path:
    """One text file per BEIR passage (title line, blank line, text), so the ingest can read them.
    Rewritten identically each time, so an incremental ingest finds nothing new."""
    folder.mkdir(parents=True, exist_ok=True)
    for _, obj in _jsonl_objects(corpus_jsonl):
        name = re.sub(r"[^A-Za-z0-9._-]", "_", str(obj["_id"]))[:120] or "passage"
        title = str(obj.get("title") or "").strip()
        body = f"{title}\n\n{obj.get('text') or ''}" if title else str(obj.get("text") or "")
        target = folder / f"{name}.txt"
        if not target.is_file() or target.read_text(encoding="utf-8") != body:
            target.write_text(body, encoding="utf-8")
    return folder
