"""Answering speed and memory with the local model; optionally quality against prompt size.

    .venv/bin/python bench/bench_answer.py            # pipeline vs raw llama.cpp, prompt tokens, peak RSS
    .venv/bin/python bench/bench_answer.py --sweep    # + quality per prompt size on eval questions

Pipeline = Answerer.stream (retrieval, trimming, prompt, streaming, citation check). Raw = the very
same prompt given straight to the same loaded llama.cpp model (prefill + decode of the same tokens).
The llama.cpp KV cache is reset before every run: llama-cpp-python reuses a matching prompt prefix,
which would make whichever run comes second look free; `--reuse-prefix` keeps it for the pipeline
runs (what a serving process sees: the system prompt stays cached between questions). Peak RSS is that of a separate `rag ask`
process (what a user runs). Figures are printed; nothing is written.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.workspace import isolated_settings  # noqa: E402
from rag.answer import Answerer, DoneEvent, TokenEvent  # noqa: E402
from rag.answer.prompts import answer_messages  # noqa: E402
from rag.config import Settings  # noqa: E402

QUESTIONS = [
    "Where was the 2024 African Defense Chiefs Conference held?",
    "How many Russians were arrested in Tripoli, and on what suspicion?",
    "What did US officials demand of General Khalifa Haftar?",
]

WARM_UP_QUESTION = "What did the United States propose for the Libyan army?"


def run_pipeline(answerer: Answerer, question: str, reuse_prefix: bool = False):
    if not reuse_prefix:
        answerer.generator.llm._model.reset()
    start = time.perf_counter()
    first = None
    n_tokens = 0
    result = None
    for event in answerer.stream(question):
        if isinstance(event, TokenEvent):
            n_tokens += 1
            first = first or time.perf_counter() - start
        elif isinstance(event, DoneEvent):
            result = event.result
    return result, first, time.perf_counter() - start, n_tokens


def run_raw(answerer: Answerer, prompt: str, max_tokens: int):
    llm = answerer.generator.llm
    model = llm._model
    model.reset()
    start = time.perf_counter()
    first = None
    n_tokens = 0
    for part in model(prompt=prompt, max_tokens=max_tokens, temperature=0.0, stream=True,
                      stop=llm.generate_kwargs.get("stop") or []):
        if part["choices"][0]["text"]:
            n_tokens += 1
            first = first or time.perf_counter() - start
    return first, time.perf_counter() - start, n_tokens


def prompt_of(answerer: Answerer, result) -> str:
    messages = answer_messages(result.standalone_question, [(c.n, c.title, c.text) for c in result.citations])
    return answerer.generator.llm.messages_to_prompt(messages)


def overhead(settings: Settings, questions: list[str], reuse_prefix: bool = False) -> None:
    answerer = Answerer(settings)
    # Warm-up: model load, embedder, Chroma, BM25. A question of its own, so that with --reuse-prefix
    # the first measured question finds only what a previous, different question left cached.
    answerer.ask(WARM_UP_QUESTION)
    rows = []
    for q in questions:
        result, p_first, p_total, p_tokens = run_pipeline(answerer, q, reuse_prefix)
        if result.refused and not result.citations:
            print(f"skipped (refused before the LLM): {q}")
            continue
        prompt = prompt_of(answerer, result)
        r_first, r_total, r_tokens = run_raw(answerer, prompt, settings.max_new_tokens)
        tokens = answerer.generator.count_tokens(prompt)
        rows.append((tokens, p_first, r_first, p_total, r_total, p_tokens, r_tokens))
        print(f"{q[:60]:60}  prompt {tokens} tok | first token pipeline {p_first:.2f} s raw {r_first:.2f} s | "
              f"total pipeline {p_total:.2f} s raw {r_total:.2f} s | streamed {p_tokens}/{r_tokens} pieces")
    if not rows:
        return
    pf, rf = sum(r[1] for r in rows), sum(r[2] for r in rows)
    pt, rt = sum(r[3] for r in rows), sum(r[4] for r in rows)
    print(f"prompt tokens (default config): mean {statistics.mean(r[0] for r in rows):.0f}, "
          f"max {max(r[0] for r in rows)} (target <= 500)")
    print(f"time to first token: pipeline {pf / len(rows):.2f} s, raw {rf / len(rows):.2f} s, "
          f"overhead {100 * (pf - rf) / rf:+.1f}%")
    print(f"total time:          pipeline {pt / len(rows):.2f} s, raw {rt / len(rows):.2f} s, "
          f"overhead {100 * (pt - rt) / rt:+.1f}% (target <= 10%)")


def peak_rss(settings: Settings, question: str) -> None:
    env = dict(os.environ, RAG_CORPUS_DIR=str(settings.corpus_dir), RAG_INDEX_DIR=str(settings.index_dir),
               RAG_MODEL_DIR=str(settings.model_dir), RAG_LLM="local")
    start = time.perf_counter()
    proc = subprocess.run([str(Path(sys.executable).parent / "rag"), "ask", question, "--json"], env=env,
                          capture_output=True, text=True, cwd=settings.index_dir.parent)
    wall = time.perf_counter() - start
    rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    ok = proc.returncode == 0 and json.loads(proc.stdout).get("answer")
    print(f"`rag ask` process: exit {proc.returncode}, wall {wall:.1f} s (incl. start-up and model load), "
          f"peak RSS {rss_mb:.0f} MB (target < 2500){'' if ok else ' ANSWER MISSING'}")


def keyword_hit(answer: str, keywords: list[list[str]]) -> bool:
    low = answer.lower()
    return all(any(k.lower() in low for k in group) for group in keywords)


def sweep(settings: Settings, n: int, configs: list[tuple[int, int]]) -> None:
    """Quality against prompt size: answerable questions must name the expected keywords with a
    supported citation; unanswerable ones must be refused."""
    rows = [json.loads(line) for line in open(REPO / "eval" / "questions.jsonl", encoding="utf-8")]
    rows = [r for r in rows if not r.get("history")]
    picked = [r for r in rows if r["answerable"]][: n - 2] + [r for r in rows if not r["answerable"]][:2]
    for passages, chars in configs:
        answerer = Answerer(settings.replace(answer_passages=passages, passage_chars=chars))
        good, tokens, firsts = 0, [], []
        for r in picked:
            result, first, _, _ = run_pipeline(answerer, r["question"])
            if r["answerable"]:
                ok = (not result.refused and keyword_hit(result.answer, r.get("keywords", []))
                      and any(s.supported for s in result.sentences))
            else:
                ok = result.refused
            good += ok
            if not ok:
                print(f"    miss: {r['question'][:60]} -> {result.answer[:100]}")
            if result.citations:
                tokens.append(answerer.generator.count_tokens(prompt_of(answerer, result)))
            firsts.append(first or 0.0)
        print(f"{passages} passages x {chars} chars: {good}/{len(picked)} correct, prompt "
              f"{statistics.mean(tokens or [0]):.0f} tok, first token {statistics.mean(firsts):.1f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=len(QUESTIONS), help="questions for the overhead run")
    parser.add_argument("--sweep", action="store_true", help="also measure quality per prompt size")
    parser.add_argument("--sweep-questions", type=int, default=10)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--reuse-prefix", action="store_true",
                        help="keep llama.cpp's KV cache between questions in the pipeline runs (as a server does: "
                             "the previous prompt's common prefix, the system prompt, is not prefilled again); "
                             "raw runs still start empty")
    parser.add_argument("--threads", type=int, default=0, help="llama.cpp threads (llm_threads; 0 = all cores)")
    parser.add_argument("--skip-rss", action="store_true", help="skip the peak-RSS `rag ask` run")
    parser.add_argument("--configs", default="2x300,3x400,3x500,4x700",
                        help="prompt sizes for --sweep: PASSAGESxCHARS, comma-separated")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-answer-") as tmp:
        settings = isolated_settings(Path(tmp), llm="local", max_new_tokens=args.max_new_tokens,
                                     llm_threads=args.threads)
        print(f"threads {settings.llm_threads or os.cpu_count()}, load average {os.getloadavg()[0]:.1f} "
              "(a busy machine slows both sides alike; the ratio is what to read)")
        overhead(settings, QUESTIONS[: args.questions], args.reuse_prefix)
        if not args.skip_rss:
            peak_rss(settings, QUESTIONS[0])
        if args.sweep:
            configs = [tuple(int(x) for x in c.split("x")) for c in args.configs.split(",")]
            sweep(settings, args.sweep_questions, configs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
