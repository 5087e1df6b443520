"""The OpenAI-compatible API under /v1, driven by the official `openai` client against the running
server (extractive backend, bound with a key): models, cited answers, streaming, follow-ups, refusals,
keys and bad requests in OpenAI's error shape; the Gradio /ask endpoint beside it."""
from __future__ import annotations

import re

import httpx
import pytest

from tests.helpers import make_settings, running_ui
from ui.session import api_denial

KEY = "test-key-5f1c9a"
ON_TOPIC = "Which general met with General Mohammed al-Haddad in Botswana?"
OFF_TOPIC = "What is the best recipe for a chocolate cake with strawberries?"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_ui(tmp_path_factory.mktemp("openai-api"), api_key=KEY) as (url, settings):
        yield url, settings


def client_for(server, key=KEY):
    from openai import OpenAI

    return OpenAI(base_url=server[0] + "v1", api_key=key, max_retries=0, timeout=120)


@pytest.fixture(scope="module")
def client(server):
    return client_for(server)


def ask(client, *messages, model="rag"):
    turns = [{"role": "user" if i % 2 == 0 else "assistant", "content": text} for i, text in enumerate(messages)]
    return client.chat.completions.create(model=model, messages=turns)


def markers(text: str) -> set[int]:
    return {int(n) for n in re.findall(r"\[(\d+)\]", text)}


def test_models_name_each_answering_backend(client, server):
    assert [m.id for m in client.models.list()] == ["rag", "rag-extractive"]  # the server answers extractively


def test_answer_carries_citations_numbered_like_its_markers(client, server):
    reply = ask(client, ON_TOPIC)
    message = reply.choices[0].message
    assert reply.object == "chat.completion" and reply.choices[0].finish_reason == "stop"
    assert "Langley" in message.content and not message.refused
    by_n = {c["n"]: c for c in message.citations}
    assert markers(message.content) and markers(message.content) <= set(by_n)
    for n in markers(message.content):
        cited = by_n[n]
        assert cited["cited"] and (server[1].corpus_dir / cited["source"]).is_file()
        assert set(cited) == {"n", "source", "title", "start", "end", "text", "score", "supported", "cited", "id",
                              "page", "page_end", "heading"}  # the fields of `rag ask --json`
    assert sorted(by_n) == list(range(1, len(by_n) + 1))


def test_stream_concatenates_to_the_answer_with_citations_in_the_last_chunk(client):
    whole = ask(client, ON_TOPIC).choices[0].message
    chunks = list(client.chat.completions.create(model="rag", stream=True,
                                                 messages=[{"role": "user", "content": ON_TOPIC}]))
    content = "".join(c.choices[0].delta.content or "" for c in chunks)
    draft = "".join(getattr(c.choices[0].delta, "reasoning_content", None) or "" for c in chunks)
    assert content == whole.content and draft  # the model's draft streamed first, then the checked answer
    last = chunks[-1].choices[0]
    assert last.finish_reason == "stop"
    assert [c["n"] for c in last.delta.citations] == [c["n"] for c in whole.citations]
    assert all(getattr(c.choices[0].delta, "citations", None) is None for c in chunks[:-1])


def test_follow_up_is_answered_from_the_earlier_turns(client):
    first = ask(client, ON_TOPIC).choices[0].message.content
    follow = ask(client, ON_TOPIC, first, "Where did that meeting take place?").choices[0].message
    assert not follow.refused
    assert "Botswana" in follow.content or "Gaborone" in follow.content


def test_refusal_is_an_ordinary_reply(client):
    from rag.answer.prompts import REFUSAL

    message = ask(client, OFF_TOPIC, model="rag-extractive").choices[0].message
    assert message.refused and message.content == REFUSAL


def test_wrong_or_missing_key_is_refused_in_openai_shape(server):
    import openai

    with pytest.raises(openai.AuthenticationError) as caught:
        client_for(server, "wrong-key-123").models.list()
    assert caught.value.status_code == 401
    assert set(caught.value.body) == {"message", "type", "param", "code"}
    assert "RAG_API_KEY" in caught.value.body["message"]
    # No key at all; and the key is checked before the body, so a stranger learns nothing else.
    reply = httpx.post(server[0] + "v1/chat/completions", json={"messages": []})
    assert reply.status_code == 401 and reply.json()["error"]["code"] == "invalid_api_key"


@pytest.mark.parametrize("body, param", [
    ({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}, "model"),
    ({"model": "rag", "messages": []}, "messages"),
    ({"model": "rag", "messages": [{"role": "assistant", "content": "hello"}]}, "messages"),
    ({"model": "rag", "messages": [{"role": "user", "content": "x" * 5000}]}, "messages"),
    ({"model": "rag", "messages": [{"role": "user", "content": "   "}]}, "messages"),
])
def test_bad_requests_get_400_in_openai_shape(server, body, param):
    reply = httpx.post(server[0] + "v1/chat/completions", json=body, headers={"Authorization": f"Bearer {KEY}"})
    assert reply.status_code == 400, reply.text
    error = reply.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param and error["message"]


def test_non_json_body_is_refused(server):
    # A web page can POST text/plain to a loopback server without a CORS preflight; it gets nothing run.
    reply = httpx.post(server[0] + "v1/chat/completions", content='{"messages": []}',
                       headers={"Authorization": f"Bearer {KEY}", "Content-Type": "text/plain"})
    assert reply.status_code == 400 and "JSON" in reply.json()["error"]["message"]


def test_content_parts_and_system_messages_are_accepted(client):
    reply = client.chat.completions.create(model="rag", messages=[
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": [{"type": "text", "text": ON_TOPIC}]}])
    assert "Langley" in reply.choices[0].message.content


def test_gradio_ask_endpoint_still_answers(server):
    from gradio_client import Client

    result = Client(server[0], verbose=False).predict(ON_TOPIC, "[]", "", 0, "", api_name="/ask")
    assert "Langley" in result["answer"] and result["citations"]


def test_a_backend_that_is_down_is_a_503_or_an_error_event(tmp_path_factory):
    """An LLM server that does not answer (a closed port): the plain reply is a 503 and the stream
    ends with an error event, both in OpenAI's shape (the client raises, nothing hangs)."""
    import openai

    from tests.helpers import free_port

    down = f"http://127.0.0.1:{free_port()}/v1"
    with running_ui(tmp_path_factory.mktemp("openai-down"), llm="openai", openai_base_url=down,
                    request_timeout=5) as running:
        api = client_for(running)
        messages = [{"role": "user", "content": ON_TOPIC}]
        with pytest.raises(openai.InternalServerError) as caught:
            api.chat.completions.create(model="rag", messages=messages)
        assert caught.value.status_code == 503 and "--llm extractive" in caught.value.body["message"]
        with pytest.raises(openai.APIError, match="--llm extractive"):
            list(api.chat.completions.create(model="rag", messages=messages, stream=True))
        # The session's other backend still answers.
        assert "Langley" in api.chat.completions.create(model="rag-extractive", messages=messages).choices[0].message.content


@pytest.mark.parametrize("overrides, header, refused", [
    ({}, None, False),                                               # loopback: open
    ({"api_key": KEY}, None, True),                                  # a key, once set, is always asked
    ({"api_key": KEY}, f"Bearer {KEY}", False),
    ({"api_key": KEY}, f"bearer {KEY}", False),
    ({"api_key": KEY}, KEY, True),                                   # not a bearer token
    ({"host": "0.0.0.0", "allow_open": True}, None, False),          # open on purpose
    ({"host": "0.0.0.0", "auth_user": "me", "auth_password": "pw"}, None, True),  # login, no key: closed
    ({"auth_user": "me", "auth_password": "pw"}, None, True),
    ({"host": "0.0.0.0", "auth_user": "me", "auth_password": "pw", "api_key": KEY}, f"Bearer {KEY}", False),
])
def test_api_access_follows_the_ui_rules(tmp_path, overrides, header, refused):
    assert (api_denial(make_settings(tmp_path, **overrides), header) is not None) == refused


def test_api_key_setting_is_checked_and_masked(tmp_path):
    from rag.errors import ConfigError

    with pytest.raises(ConfigError, match="api_key must be empty, or 8 to 1000 characters"):
        make_settings(tmp_path, api_key="short")
    assert make_settings(tmp_path, api_key=KEY).as_dict()["api_key"] == "***"


@pytest.mark.slow
def test_local_model_streams_its_draft_then_the_checked_answer(tmp_path_factory):
    """The packaged local model behind the API (one question; timings printed for the report)."""
    import time

    pytest.importorskip("llama_cpp")
    with running_ui(tmp_path_factory.mktemp("openai-local"), llm="local", max_new_tokens=64) as running:
        started, first_draft, content, draft, last = time.monotonic(), None, "", [], None
        for part in client_for(running).chat.completions.create(
                model="rag-local", stream=True, messages=[{"role": "user", "content": ON_TOPIC}]):
            delta = part.choices[0].delta
            if getattr(delta, "reasoning_content", None):
                first_draft = first_draft or time.monotonic() - started
                draft.append(delta.reasoning_content)
            content += delta.content or ""
            last = part
        total = time.monotonic() - started
    print(f"\nlocal model through /v1: first draft token {first_draft:.1f} s, checked answer {total:.1f} s")
    assert len(draft) > 1 and content  # the draft streamed token by token; the checked answer followed
    cited = {c["n"] for c in last.choices[0].delta.citations if c["cited"]}
    assert markers(content) <= cited
