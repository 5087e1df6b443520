"""Regression tests for the answering findings of issue 11: citations a document cannot forge."""
from __future__ import annotations

import json
import re

import pytest

from rag.ingest import ingest
from tests.helpers import make_settings

CONFERENCE = ("The African Defense Chiefs Conference was held in Gaborone, Botswana, in June 2024. "
              "Defense chiefs from across the continent attended it.\n")
# A document whose text carries bracketed numbers, as footnoted or copied web text does.
BANANAS = "Bananas are yellow fruit rich in potassium [1]. They grow in tropical climates [2].\n"


class _OneReplyServer:
    """Just enough of an OpenAI-compatible /v1/chat/completions (streamed) to replay one answer; it
    stands for the LLM server outside the project and records the prompts it was sent."""

    def __init__(self, reply: str):
        import http.server
        import threading

        self.seen: list[dict] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.seen.append(body)
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                for word in reply.split(" "):
                    chunk = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": body["model"],
                             "choices": [{"index": 0, "delta": {"role": "assistant", "content": word + " "},
                                          "finish_reason": None}]}
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def close(self):
        self.server.shutdown()


@pytest.fixture
def two_documents(tmp_path):
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "conference.txt").write_text(CONFERENCE)
    (tmp_path / "corpus" / "bananas.txt").write_text(BANANAS)
    settings = make_settings(tmp_path, top_k=2, answer_passages=2, retrieval_mode="dense")
    ingest(settings, show_progress=False)
    return settings


# --- 10: bracketed numbers inside passages -------------------------------------------------------

def test_extractive_answer_does_not_keep_a_passages_own_citation_marks():
    from rag.answer.citations import cited_numbers
    from rag.answer.extractive import extractive_answer

    texts = ["The conference was held in Gaborone [3]. It lasted three days [2].",
             "Bananas are yellow.", "Potatoes grow underground."]
    answer = extractive_answer("Where was the conference held?", texts)
    assert answer and set(cited_numbers(answer)) == {1}, answer


def test_passages_shown_to_the_model_carry_no_citation_marks():
    from rag.answer.prompts import answer_messages

    prompt = answer_messages("Which fruit is yellow?", [(1, "Fruit", "Bananas are yellow [2]."),
                                                        (2, "Other", "Potatoes [1, 3] grow underground.")])
    blocks = re.findall(r'<passage id="\d+" title="[^"]*">\n(.*?)\n</passage>', prompt[-1].content, re.S)
    assert len(blocks) == 2 and not any(re.search(r"\[\d", b) for b in blocks), blocks


def test_support_is_checked_per_cited_passage(two_documents):
    from rag.answer import Answerer

    server = _OneReplyServer("The conference was held in Gaborone, Botswana [1][2].")
    try:
        settings = two_documents.replace(llm="openai", openai_base_url=server.url)
        result = Answerer(settings).ask("Where was the African Defense Chiefs Conference held?")
    finally:
        server.close()
    by_source = {c.source: c for c in result.citations}
    assert not result.refused, result
    assert by_source["conference.txt"].cited and by_source["conference.txt"].supported is True
    # The citation of a passage that does not back the sentence on its own is dropped, not shared.
    assert not by_source["bananas.txt"].cited and by_source["bananas.txt"].supported is None, by_source
    assert result.sentences[0].citations == [by_source["conference.txt"].n]
    blocks = re.findall(r'<passage id="\d+" title="[^"]*">\n(.*?)\n</passage>', server.seen[-1]["messages"][-1]["content"],
                        re.S)
    bananas = [b for b in blocks if "Bananas" in b]
    assert bananas and not re.search(r"\[\d", bananas[0]), blocks
