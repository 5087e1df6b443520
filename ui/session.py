"""What a session sends, made safe for the library: the bind and login check, the chat history a
client posts, and the per-session choices layered on the server's settings."""
from __future__ import annotations

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


def session_settings(base: Settings, mode: str | None, top_k, llm: str | None) -> Settings:
    """The per-session choices on top of the server's settings (validated like any other setting).

    The Answerer retrieves `answer_passages` passages for the model, so the session's top-k sets
    both that and `top_k`: the number the user picks is the number of sources they see.
    """
    k = int(top_k) if top_k else None
    return base.replace(retrieval_mode=mode or None, top_k=k, answer_passages=k, llm=llm or None)
