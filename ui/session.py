"""What a session sends, made safe for the library: the bind and login check, the chat history a
client posts, and the per-session choices layered on the server's settings."""
from __future__ import annotations

import hmac
import ipaddress
import json

from rag.config import Settings
from rag.errors import ConfigError, InputError


# --- binding and auth ---------------------------------------------------------------------------

def is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve to anything: treat as exposed


def launch_auth(settings: Settings) -> tuple[str, str] | None:
    """The (user, password) Gradio asks for, or None; refuses an open server on a non-loopback address."""
    if bool(settings.auth_user) != bool(settings.auth_password):
        raise ConfigError("set both RAG_AUTH_USER and RAG_AUTH_PASSWORD (only one is set)")
    if settings.auth_user:
        return settings.auth_user, settings.auth_password
    if is_loopback(settings.host) or settings.allow_open:
        return None
    raise ConfigError(
        f"refusing to serve on {settings.host} without a password: anyone on the network could read and "
        "change your documents. Set RAG_AUTH_USER and RAG_AUTH_PASSWORD, or pass --allow-open "
        "(RAG_ALLOW_OPEN=1) to accept an open server.")


def api_denial(settings: Settings, authorization: str | None) -> str | None:
    """Why a request to the OpenAI-compatible API (/v1) is refused, or None when it may proceed.

    The UI's rules with a bearer key in place of the login: a key, once set, is always required;
    a server with a login and no key keeps its API closed; otherwise loopback or --allow-open is open.
    """
    if settings.api_key:
        scheme, _, token = (authorization or "").strip().partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), settings.api_key.encode()):
            return None
        return "missing or wrong API key: send the server's RAG_API_KEY as 'Authorization: Bearer <key>'"
    if settings.auth_user:
        return "this server asks for a login: set RAG_API_KEY on the server and send it as a bearer token"
    if is_loopback(settings.host) or settings.allow_open:
        return None
    return f"the API on {settings.host} needs a key: set RAG_API_KEY (or RAG_ALLOW_OPEN=1 for an open server)"


# --- conversation helpers -----------------------------------------------------------------------

def content_text(content) -> str:
    """Gradio 6 message content is a string or a list of parts ({"type": "text", "text": ...})."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text", ""))
    if isinstance(content, (list, tuple)):
        return "".join(content_text(part) for part in content)
    return ""


def parse_history(raw) -> list[tuple[str, str]]:
    """(question, answer) pairs from JSON text or a list: either [[q, a], ...] or chat messages."""
    if raw in (None, "", []):
        return []
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise InputError("history must be JSON: [[question, answer], ...] or a list of chat messages") from None
    if not isinstance(raw, list):
        raise InputError("history must be a list")
    pairs: list[tuple[str, str]] = []
    pending_user: str | None = None
    for item in raw:
        if isinstance(item, dict):
            text = content_text(item.get("content"))
            if item.get("role") == "user":
                pending_user = text
            elif item.get("role") == "assistant" and pending_user is not None:
                pairs.append((pending_user, text))
                pending_user = None
        elif isinstance(item, (list, tuple)) and len(item) == 2:
            pairs.append((str(item[0]), str(item[1])))
        else:
            raise InputError("history items must be [question, answer] pairs or {role, content} messages")
    return pairs


# What one request may ask for: the UI's own bounds, so an API call can neither overflow the model's
# context nor hold the (serialised) local model for a minute.
SESSION_MAX_TOP_K = 10
HISTORY_MAX_TURNS = 20
HISTORY_MAX_ANSWER_CHARS = 4000


def check_history(pairs: list[tuple[str, str]], settings: Settings) -> list[tuple[str, str]]:
    """The conversation as given, refused when longer than the UI could have produced."""
    if len(pairs) > HISTORY_MAX_TURNS:
        raise InputError(f"the history has {len(pairs)} turns; the limit is {HISTORY_MAX_TURNS} "
                         "(start a new conversation)")
    for question, answer in pairs:
        if len(question) > settings.max_question_chars or len(answer) > HISTORY_MAX_ANSWER_CHARS:
            raise InputError(f"a history turn is too long (questions up to {settings.max_question_chars:,} "
                             f"characters, answers up to {HISTORY_MAX_ANSWER_CHARS:,})")
    return pairs


def session_settings(base: Settings, mode: str | None, top_k, llm: str | None) -> Settings:
    """The per-session choices on top of the server's settings (validated like any other setting).

    The Answerer retrieves `answer_passages` passages for the model, so the session's top-k sets
    both that and `top_k`: the number the user picks is the number of sources they see. A session
    may switch to the extractive backend (it needs nothing), not to one the server was not set up for.
    """
    if top_k and not 1 <= int(top_k) <= SESSION_MAX_TOP_K:
        raise InputError(f"top_k must be between 1 and {SESSION_MAX_TOP_K}")
    if llm and llm not in session_backends(base):
        raise InputError(f"this server answers with {base.llm!r}; a session can switch only to "
                         f"{' or '.join(repr(b) for b in session_backends(base))}")
    k = int(top_k) if top_k else None
    return base.replace(retrieval_mode=mode or None, top_k=k, answer_passages=k, llm=llm or None)


def session_backends(base: Settings) -> list[str]:
    return list(dict.fromkeys([base.llm, "extractive"]))
