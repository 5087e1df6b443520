"""Concurrent conversations against a served UI through gradio_client (extractive backend, so the LLM
is not the bottleneck). Each conversation asks a question, then a follow-up carrying its own history;
prints throughput and latency, and checks that no conversation got another's context.

    python bench/bench_load.py [--conversations 20]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from eval.metrics import percentile  # noqa: E402

# (first question, a follow-up that only makes sense with it, a word the rewrite must carry over)
CONVERSATIONS = [
    ("Where was the 2024 African Defense Chiefs Conference held?", "Who co-hosted it?", "Conference"),
    ("Who is the commander of US Africa Command?", "What did he say about disinformation?", "Africa Command"),
    ("Which Russians were arrested in Tripoli?", "Why were they arrested?", "Tripoli"),
    ("Who met the US Army delegation in Benghazi?", "What did they discuss?", "Benghazi"),
    ("What is the 5+5 Joint Military Committee?", "Is its work still going on?", "Committee"),
]


def conversation(url: str, index: int) -> dict:
    from gradio_client import Client

    first, follow_up, marker = CONVERSATIONS[index % len(CONVERSATIONS)]
    client = Client(url, verbose=False)
    timings = []
    started = time.perf_counter()
    one = client.predict(first, "", api_name="/ask")
    timings.append(time.perf_counter() - started)
    started = time.perf_counter()
    two = client.predict(follow_up, json.dumps([[first, one.get("answer", "")]]), api_name="/ask")
    timings.append(time.perf_counter() - started)
    others = {m for _, _, m in CONVERSATIONS if m != marker}
    standalone = two.get("standalone_question", "")
    return {
        "answered": bool(one.get("answer")) and bool(two.get("answer")) and "error" not in one and "error" not in two,
        "own_context": marker.lower() in standalone.lower(),
        # Another conversation's marker may appear only if this conversation's own turn mentioned it.
        "foreign_context": sorted(m for m in others if m.lower() in standalone.lower()
                                  and m.lower() not in (first + " " + one.get("answer", "")).lower()),
        "latencies": timings,
    }


def run_load(url: str, conversations: int) -> dict:
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=conversations) as pool:
        results = list(pool.map(lambda i: conversation(url, i), range(conversations)))
    wall = time.perf_counter() - started
    latencies = sorted(t for r in results for t in r["latencies"])
    return {
        "conversations": conversations,
        "requests": len(latencies),
        "all_answered": all(r["answered"] for r in results),
        "all_kept_own_context": all(r["own_context"] for r in results),
        "mixed": [r["foreign_context"] for r in results if r["foreign_context"]],
        "throughput_rps": len(latencies) / wall,
        "p50_s": percentile(latencies, 50),
        "p95_s": percentile(latencies, 95),
        "wall_s": wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=20)
    args = parser.parse_args()
    from bench.workspace import free_port, isolated_settings
    from ui.server import serving

    with tempfile.TemporaryDirectory() as tmp:
        with serving(isolated_settings(Path(tmp), llm="extractive", port=free_port())) as url:
            stats = run_load(url, args.conversations)
    print(json.dumps(stats, indent=2))
    print(f"{stats['conversations']} conversations, {stats['requests']} requests: {stats['throughput_rps']:.1f} "
          f"requests/s, p50 {stats['p50_s'] * 1000:.0f} ms, p95 {stats['p95_s'] * 1000:.0f} ms; all answered: "
          f"{stats['all_answered']}; histories mixed: {len(stats['mixed'])}")


if __name__ == "__main__":
    main()
