"""Errors a user can act on. The CLI prints their message (no traceback) and exits with `exit_code`."""


class RagError(Exception):
    exit_code = 2


class ConfigError(RagError):
    """A setting, flag or config file is wrong."""


class InputError(RagError):
    """A question or file given by the user cannot be used."""


class BackendError(RagError):
    """Chroma, the embedding model or the LLM is missing, unreachable or broken."""

    exit_code = 4


class IndexBusyError(RagError):
    """Another ingest holds the index lock."""

    exit_code = 5


def short_error(exc: Exception) -> str:
    """A third-party exception's message on one line, at most 200 characters, to quote in ours."""
    text = " ".join(str(exc).split())
    return text[:200] or "no message"
