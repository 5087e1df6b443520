"""The Host header check in front of the app Gradio builds (DNS rebinding, issue 11)."""
from __future__ import annotations

import logging

from rag.config import Settings

log = logging.getLogger(__name__)

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
WILDCARD_BINDS = ("0.0.0.0", "::")


def allowed_hosts(settings: Settings) -> set[str] | None:
    """The names a request's Host header may carry, or None when any is accepted."""
    extra = settings.allowed_host_names
    bound = settings.host.strip().strip("[]").lower()
    if "*" in extra:
        return None
    if bound in WILDCARD_BINDS and not extra:
        # Reached through names and addresses we cannot know; such a bind needs a password or
        # --allow-open, and `serve` asks for RAG_ALLOWED_HOSTS.
        return None
    return {*LOOPBACK_NAMES, bound, *extra}


def host_of(header: str) -> str:
    """The name in a Host header, without the port: "[::1]:7860" -> "::1", "Docs:80" -> "docs"."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class HostCheck:
    """ASGI middleware: a request whose Host header names another server is refused (400).

    Gradio does not check it, so a web page on evil.example whose DNS name is re-pointed at
    127.0.0.1 (DNS rebinding) could otherwise drive the password-less loopback server from the
    user's own browser: same origin as far as the browser knows. Starlette's TrustedHostMiddleware
    would do, but it cannot parse an IPv6 Host header ("[::1]:7860")."""

    def __init__(self, app, allowed: set[str]):
        self.app, self.allowed = app, allowed

    async def __call__(self, scope, receive, send):
        if scope["type"] in ("http", "websocket"):
            host = host_of(dict(scope["headers"]).get(b"host", b"").decode("latin-1"))
            if host not in self.allowed:
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008})
                    return
                from starlette.responses import PlainTextResponse

                await PlainTextResponse("Invalid host header (setting allowed_hosts)", status_code=400)(
                    scope, receive, send)
                return
        await self.app(scope, receive, send)


def host_check_app_kwargs(settings: Settings) -> dict:
    """The FastAPI arguments that put HostCheck in front of the app Gradio builds."""
    hosts = allowed_hosts(settings)
    if hosts is None:
        if "*" not in settings.allowed_host_names:
            log.warning("serving on %s: the Host header is not checked; set RAG_ALLOWED_HOSTS to the names "
                        "clients use", settings.host)
        return {}
    from starlette.middleware import Middleware

    return {"middleware": [Middleware(HostCheck, allowed=hosts)]}
