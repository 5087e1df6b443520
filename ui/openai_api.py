"""The OpenAI-compatible chat API, served under /v1 on the UI's port (Open WebUI, LibreChat, scripts).

`GET /v1/models` lists one model per answering backend a session may use; `POST /v1/chat/completions`
answers the last user message through the same Answerer as the UI and the CLI, with the earlier
turns as the history that drives the follow-up rewrite. The reply is the checked answer with its [n]
markers; the numbered passages travel as `citations` (the fields of `rag ask --json`) on the message,
or on the last streamed chunk. Access follows the UI's rules (ui/session.api_denial); every error has
OpenAI's shape {"error": {"message", "type", "param", "code"}}.

Streaming: the pipeline checks the whole answer only once generated (rag/answer/decide.py may drop
or re-cite sentences, or refuse), so the model's draft streams as `reasoning_content` (clients such
as Open WebUI show it as a collapsible "thinking" block) and the checked answer follows as `content`:
what a client keeps is never an unchecked draft.
"""
from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.exceptions import HTTPException

from rag.errors import InputError, RagError
from rag.query import check_question
from ui.session import HISTORY_MAX_TURNS, api_denial, check_history, content_text, parse_history, \
    session_backends, session_settings

log = logging.getLogger(__name__)

MODEL = "rag"  # the server's own backend; "rag-<backend>" names each backend a session may use
OWNER = "rag"


class ApiError(Exception):
    def __init__(self, status: int, message: str, kind: str = "invalid_request_error",
                 code: str | None = None, param: str | None = None):
        super().__init__(message)
        self.status, self.message, self.kind, self.code, self.param = status, message, kind, code, param

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}}


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")  # name, tool_calls, ...: accepted, not used
    role: str
    content: str | list | None = None


class ChatRequest(BaseModel):
    """The fields this server reads; the many others clients send (temperature, max_tokens, ...) are
    accepted and ignored: the answer's length and wording come from the server's settings."""
    model_config = ConfigDict(extra="allow")
    model: str = MODEL
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False


def model_backends(settings) -> dict[str, str]:
    """Model id -> answering backend: "rag" is the server's own, plus "rag-<backend>" for each."""
    return {MODEL: settings.llm} | {f"{MODEL}-{backend}": backend for backend in session_backends(settings)}


def conversation(messages: list[ChatMessage], settings) -> tuple[str, list[tuple[str, str]]]:
    """(question, history pairs): the last message is the question, the earlier user/assistant turns
    the history (system messages are ignored: the answering prompt is the server's)."""
    turns = [m for m in messages if m.role in ("user", "assistant")]
    if not turns or turns[-1].role != "user":
        raise ApiError(400, "the last message must be the user's question", param="messages")
    question = content_text(turns[-1].content)
    pairs = parse_history([m.model_dump() for m in turns[:-1]])
    try:
        # A client resends the whole conversation every time: keep the latest turns the UI would keep.
        return check_question(question, settings), check_history(pairs[-HISTORY_MAX_TURNS:], settings)
    except InputError as exc:
        raise ApiError(400, str(exc), param="messages") from None


def citations_of(result) -> list[dict]:
    return result.as_json()["citations"]


def completion(result, model: str, reply_id: str, created: int) -> dict:
    message = {"role": "assistant", "content": result.answer, "refusal": None,
               "citations": citations_of(result), "refused": result.refused}
    return {"id": reply_id, "object": "chat.completion", "created": created, "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}]}


def chunk(reply_id: str, created: int, model: str, delta: dict, finish: str | None = None) -> str:
    body = {"id": reply_id, "object": "chat.completion.chunk", "created": created, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]}
    return sse(body)


def sse(body: Any) -> str:
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"


def answer_error(exc: Exception) -> ApiError:
    """What the client is told about a failure while answering."""
    if isinstance(exc, InputError):
        return ApiError(400, str(exc))
    if isinstance(exc, RagError):  # index missing, backend down: a message the operator can act on
        return ApiError(503, str(exc), kind="server_error", code="backend_unavailable")
    log.exception("answering through the API failed")
    return ApiError(500, f"internal error ({type(exc).__name__}); see the server log", kind="server_error")


def add_error_handlers(app: FastAPI) -> None:
    """Every error in OpenAI's shape, whatever raised it."""

    @app.exception_handler(ApiError)
    async def api_error(_request, exc: ApiError):
        return JSONResponse(exc.body(), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def bad_request(_request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ())[1:]) or None
        message = (f"{where}: {first.get('msg')}" if where else
                   "the request body must be a JSON object (Content-Type: application/json)")
        return JSONResponse(ApiError(400, message, param=where).body(), status_code=400)

    @app.exception_handler(HTTPException)
    async def http_error(_request, exc: HTTPException):
        return JSONResponse(ApiError(exc.status_code, str(exc.detail), code=str(exc.status_code)).body(),
                            status_code=exc.status_code)


def reply_chunks(chat_app, question, history, session, model, reply_id, created):
    """The answer's SSE chunks; runs in worker threads (the pipeline's imports and work block)."""
    answerer = chat_app.answerer(session)  # imports the pipeline first, under its lock
    from rag.answer import DoneEvent, TokenEvent

    for event in answerer.stream(question, history=history):
        if isinstance(event, TokenEvent):
            yield chunk(reply_id, created, model, {"reasoning_content": event.text})
        elif isinstance(event, DoneEvent):
            result = event.result
            yield chunk(reply_id, created, model, {"content": result.answer})
            yield chunk(reply_id, created, model, {"citations": citations_of(result), "refused": result.refused},
                        finish="stop")


async def stream_reply(chat_app, question, history, session, model, reply_id, created):
    yield chunk(reply_id, created, model, {"role": "assistant", "content": ""})
    chunks = reply_chunks(chat_app, question, history, session, model, reply_id, created)
    try:
        async for text in iterate_in_threadpool(chunks):
            yield text
    except Exception as exc:  # the status line is sent already: the error travels as an event
        yield sse(answer_error(exc).body())
    finally:
        await run_in_threadpool(chunks.close)  # a client gone mid-answer releases the model's lock
    yield "data: [DONE]\n\n"


def build_openai_app(chat_app):
    """The FastAPI app to mount at /v1; `chat_app` is the UI's ChatApp (shared retriever and settings)."""
    settings = chat_app.settings
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    add_error_handlers(app)

    def authorized(request: Request) -> None:
        denial = api_denial(settings, request.headers.get("authorization"))
        if denial:
            raise ApiError(401, denial, code="invalid_api_key")

    @app.get("/models", dependencies=[Depends(authorized)])
    async def models():
        created = int(time.time())
        return {"object": "list", "data": [{"id": name, "object": "model", "created": created, "owned_by": OWNER}
                                           for name in model_backends(settings)]}

    @app.post("/chat/completions", dependencies=[Depends(authorized)])
    async def chat_completions(body: ChatRequest):
        backends = model_backends(settings)
        if body.model not in backends:
            raise ApiError(400, f"unknown model {body.model!r}; this server has {', '.join(backends)}",
                           param="model", code="model_not_found")
        question, history = conversation(body.messages, settings)
        session = session_settings(settings, None, None, backends[body.model])
        reply_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        if not body.stream:
            try:
                result = await run_in_threadpool(lambda: chat_app.answerer(session).ask(question, history=history))
            except Exception as exc:
                raise answer_error(exc) from None
            return completion(result, body.model, reply_id, created)
        return StreamingResponse(stream_reply(chat_app, question, history, session, body.model, reply_id, created),
                                 media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    return app
