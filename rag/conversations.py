"""Saved conversations: SQLite next to the index (settings.index_dir / "conversations.sqlite").

Each conversation belongs to one owner — "user:<name>" when the server asks for a login, else
"browser:<random id kept in that browser>" — and every read and write names its owner, so one owner
can never list, open, rename or delete another's (an unknown id and a foreign id fail alike).
A turn is stored as `AnswerResult.as_json()`, so an answer reopens with its sources and exports as
Markdown (rag/export.py) the same as when it was given.

sqlite3 from the standard library: one short-lived connection per call (safe from any worker
thread), WAL so readers never wait for a writer.
"""
from __future__ import annotations

import json
import secrets
import sqlite3
import time
import uuid
from contextlib import closing, contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from rag.answer.results import AnswerResult, AnswerSentence, Citation
from rag.errors import InputError

FILE_NAME = "conversations.sqlite"
TITLE_MAX_CHARS = 120
DEFAULT_TITLE_CHARS = 60  # a new conversation is named after its first question, cut here

SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY, owner TEXT NOT NULL, title TEXT NOT NULL, created REAL NOT NULL, updated REAL NOT NULL);
CREATE INDEX IF NOT EXISTS conversations_by_owner ON conversations (owner, updated);
CREATE TABLE IF NOT EXISTS turns (
    conversation TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    position INTEGER NOT NULL, result TEXT NOT NULL, PRIMARY KEY (conversation, position));
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class ConversationNotFound(InputError):
    def __init__(self) -> None:
        super().__init__("no such conversation (it was deleted, or belongs to someone else)")


@dataclass(frozen=True)
class Conversation:
    id: str
    title: str
    updated: float
    turns: list[dict[str, Any]]  # AnswerResult.as_json() per question, in order


def owner_key(username: str | None, browser_id: str | None) -> str | None:
    """Whose conversations these are; None (nothing saved) for a session that is neither."""
    if username:
        return f"user:{username}"
    if browser_id:
        return f"browser:{browser_id}"
    return None


def default_title(question: str) -> str:
    text = " ".join(question.split())
    return text if len(text) <= DEFAULT_TITLE_CHARS else text[:DEFAULT_TITLE_CHARS - 1].rstrip() + "…"


def clean_title(title: str) -> str:
    text = " ".join((title or "").split())
    if not text:
        raise InputError("a conversation needs a title")
    if len(text) > TITLE_MAX_CHARS:
        raise InputError(f"a title has at most {TITLE_MAX_CHARS} characters")
    return text


def result_from_json(record: dict[str, Any]) -> AnswerResult:
    """An AnswerResult back from its as_json() form (fields a newer version added are dropped)."""
    citation_fields = {f.name for f in fields(Citation)}
    citations = [Citation(**{k: v for k, v in c.items() if k in citation_fields}) for c in record.get("citations", [])]
    sentences = [AnswerSentence(**s) for s in record.get("sentences", [])]
    return AnswerResult(question=record["question"], standalone_question=record.get("standalone_question", ""),
                        answer=record["answer"], refused=record["refused"], citations=citations,
                        sentences=sentences, timings=record.get("timings", {}), llm=record.get("llm", ""),
                        evidence=record.get("evidence", 0.0), refusal_reason=record.get("refusal_reason", ""))


class ConversationStore:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(SCHEMA)

    @classmethod
    def beside_index(cls, settings) -> "ConversationStore":
        return cls(Path(settings.index_dir) / FILE_NAME)

    @contextmanager
    def _connect(self):
        with closing(sqlite3.connect(self.path, timeout=10)) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA foreign_keys=ON")
            with db:  # one transaction: committed on success, rolled back on error
                yield db

    def secret(self) -> str:
        """A random key made once per store: the browser-side id is encrypted with it, so a browser
        keeps its conversations across server restarts."""
        with self._connect() as db:
            db.execute("INSERT OR IGNORE INTO meta VALUES ('browser_secret', ?)", (secrets.token_urlsafe(32),))
            return db.execute("SELECT value FROM meta WHERE key = 'browser_secret'").fetchone()[0]

    def list(self, owner: str) -> list[tuple[str, str]]:
        """(id, title) of the owner's conversations, the latest first."""
        with self._connect() as db:
            return db.execute("SELECT id, title FROM conversations WHERE owner = ? ORDER BY updated DESC, rowid DESC",
                              (owner,)).fetchall()

    def get(self, owner: str, conversation_id: str) -> Conversation:
        with self._connect() as db:
            row = db.execute("SELECT title, updated FROM conversations WHERE id = ? AND owner = ?",
                             (conversation_id, owner)).fetchone()
            if row is None:
                raise ConversationNotFound()
            turns = db.execute("SELECT result FROM turns WHERE conversation = ? ORDER BY position",
                               (conversation_id,)).fetchall()
        return Conversation(conversation_id, row[0], row[1], [json.loads(t[0]) for t in turns])

    def add_turn(self, owner: str, conversation_id: str | None, result: AnswerResult | dict) -> str:
        """Append one answer; a new conversation (named after the question) when the id is None.
        Returns the conversation's id."""
        record = result.as_json() if isinstance(result, AnswerResult) else result
        now = time.time()
        with self._connect() as db:
            if conversation_id is None:
                conversation_id = uuid.uuid4().hex
                db.execute("INSERT INTO conversations VALUES (?, ?, ?, ?, ?)",
                           (conversation_id, owner, default_title(record["question"]), now, now))
            elif not db.execute("UPDATE conversations SET updated = ? WHERE id = ? AND owner = ?",
                                (now, conversation_id, owner)).rowcount:
                raise ConversationNotFound()
            db.execute("INSERT INTO turns VALUES (?, (SELECT COUNT(*) FROM turns WHERE conversation = ?), ?)",
                       (conversation_id, conversation_id, json.dumps(record, ensure_ascii=False)))
        return conversation_id

    def rename(self, owner: str, conversation_id: str, title: str) -> None:
        title = clean_title(title)
        with self._connect() as db:
            if not db.execute("UPDATE conversations SET title = ? WHERE id = ? AND owner = ?",
                              (title, conversation_id, owner)).rowcount:
                raise ConversationNotFound()

    def delete(self, owner: str, conversation_id: str) -> None:
        with self._connect() as db:
            if not db.execute("DELETE FROM conversations WHERE id = ? AND owner = ?",
                              (conversation_id, owner)).rowcount:
                raise ConversationNotFound()
