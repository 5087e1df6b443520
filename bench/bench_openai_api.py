"""What the OpenAI-compatible API (/v1) adds to an answer: the same questions answered in-process by
the Answerer (the raw baseline, measured in the same run), through Gradio's /ask endpoint, and through
/v1/chat/completions with the official openai client, plain and streamed (extractive backend, so the
LLM does not dominate). Prints median latencies and their ratios to the baseline; asserts nothing.

    python bench/bench_openai_api.py [--rounds 5]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

QUESTIONS = ["Where was the 2024 African Defense Chiefs Conference held?",
             "Who is the commander of US Africa Command?",
             "Which Russians were arrested in Tripoli?"]


def timed(paths: dict, rounds: int) -> dict[str, float]:
    """Median seconds per path; the paths take turns on each question so load on the (shared)
    machine falls on all of them alike."""
    samples: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(rounds):
        for question in QUESTIONS:
            for name, ask in paths.items():
                started = time.perf_counter()
                ask(question)
                samples[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in samples.items()}


def streamed(client, question: str) -> None:
    for _ in client.chat.completions.create(model="rag", stream=True,
                                            messages=[{"role": "user", "content": question}]):
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds

    from gradio_client import Client
    from openai import OpenAI

    from rag.answer import Answerer
    from tests.helpers import running_ui

    with tempfile.TemporaryDirectory() as tmp, running_ui(Path(tmp)) as (url, settings):
        answerer = Answerer(settings.replace(llm="extractive"))
        for question in QUESTIONS:  # warm every path once: models, BM25, HTTP connections
            answerer.ask(question)
        gradio = Client(url, verbose=False)
        api = OpenAI(base_url=url + "v1", api_key="loopback", max_retries=0)
        paths = {
            "in-process Answerer.ask (baseline)": answerer.ask,
            "Gradio /ask (gradio_client)": lambda q: gradio.predict(q, api_name="/ask"),
            "/v1/chat/completions": lambda q: api.chat.completions.create(
                model="rag", messages=[{"role": "user", "content": q}]),
            "/v1/chat/completions, streamed": lambda q: streamed(api, q),
        }
        for ask in list(paths.values())[1:]:
            ask(QUESTIONS[0])
        medians = timed(paths, rounds)
    baseline = medians["in-process Answerer.ask (baseline)"]
    print(f"{rounds * len(QUESTIONS)} questions per path, extractive backend, median latency:")
    for name, median in medians.items():
        print(f"  {name:38} {median * 1000:7.1f} ms  x{median / baseline:.2f}")


if __name__ == "__main__":
    main()
