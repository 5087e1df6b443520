"""Embedding speed and memory, each against a raw baseline measured in the same run. Prints figures;
asserts nothing (the machines are shared and noisy).

(a) Cold `rag ingest` of a ~0.6 MB corpus in a fresh process (imports and model load included)
    against raw sentence-transformers `encode` (batches of 64, model loaded, warm) of the texts the
    ingest embeds (each chunk under its heading path):
    throughput ratio, target >= 1.8.
(b) Cold `rag search` in a fresh process against bare `python -c "import sentence_transformers"`:
    wall-time ratio, target <= 0.5 (medians of --repeat runs, interleaved).
(c) Peak RSS of `rag ask` (the configured LLM, local by default): target <= 2.0 GB.

    python bench/bench_embed.py [--corpus DIR] [--torch] [--fp32] [--repeat 3] [--no-ask]

The default corpus is the privoxy-faq set's (0.69 MB of HTML; `make eval-external` builds it).
--torch also times a cold ingest with RAG_EMBED=torch (the path before ONNX), into its own index;
--fp32 one with RAG_EMBED_BF16=false (ONNX fp32 for every batch, the default before bf16).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import rag  # noqa: E402,F401  (offline environment)
from bench.workspace import embedded_texts, raw_encode_seconds  # noqa: E402

CACHE = REPO / ".bench"
DEFAULT_CORPUS = REPO / ".cache" / "privoxy-faq" / "corpus"
QUESTION = "How do I block pop-up windows?"


def run_cli(args: list[str], env: dict[str, str]) -> tuple[float, int, int]:
    """Wall seconds, exit code and peak RSS (KB) of `rag ARGS` in a fresh interpreter."""
    code = "import sys; from rag.cli import main; sys.exit(main(sys.argv[1:]))"
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, *args], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    return seconds, os.waitstatus_to_exitcode(status), usage.ru_maxrss


def cli_env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env["PYTHONPATH"] = str(REPO)
    env.update({f"RAG_{k.upper()}": v for k, v in settings.items()})
    return env


def cold_ingest(corpus: Path, embed: str, bf16: bool = True) -> dict:
    index = CACHE / f"embed-index-{embed}{'' if bf16 else '-fp32'}"
    shutil.rmtree(index, ignore_errors=True)
    env = cli_env(corpus_dir=str(corpus), index_dir=str(index), embed=embed, embed_bf16=str(bf16).lower())
    seconds, code, _ = run_cli(["ingest", "-q"], env)
    if code not in (0, 3):
        raise SystemExit(f"ingest with embed={embed} failed (exit {code})")
    from rag.config import Settings
    from rag.store import Store

    return {"index": index, "seconds": seconds, "chunks": Store(Settings(corpus_dir=corpus, index_dir=index)).chunks.count()}


def import_seconds() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import sentence_transformers"], check=True, cwd=REPO)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--torch", action="store_true", help="also time a cold ingest with RAG_EMBED=torch")
    parser.add_argument("--fp32", action="store_true",
                        help="also time a cold ingest with RAG_EMBED_BF16=false (ONNX fp32 for every batch)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-ask", action="store_true", help="skip the peak-RSS run of `rag ask`")
    args = parser.parse_args()
    if not args.corpus.is_dir():
        raise SystemExit(f"{args.corpus} does not exist: run `make eval-external` or pass --corpus")
    CACHE.mkdir(exist_ok=True)
    mb = sum(p.stat().st_size for p in args.corpus.rglob("*") if p.is_file()) / 1e6
    results: dict = {"corpus": str(args.corpus), "corpus_mb": mb}

    onnx = cold_ingest(args.corpus, "onnx")
    texts = embedded_texts(args.corpus)
    if len(texts) != onnx["chunks"]:
        raise SystemExit(f"the ingest stored {onnx['chunks']} chunks but the corpus chunks into {len(texts)}")
    raw_s = raw_encode_seconds(texts)
    results["ingest"] = {"chunks": onnx["chunks"], "cold_ingest_s": onnx["seconds"], "raw_encode_s": raw_s,
                         "ratio": raw_s / onnx["seconds"]}
    if args.fp32:
        fp32 = cold_ingest(args.corpus, "onnx", bf16=False)
        results["ingest"] |= {"fp32_cold_ingest_s": fp32["seconds"], "fp32_ratio": raw_s / fp32["seconds"]}
    if args.torch:
        torch = cold_ingest(args.corpus, "torch")
        results["ingest"] |= {"torch_cold_ingest_s": torch["seconds"], "torch_ratio": raw_s / torch["seconds"]}

    env = cli_env(corpus_dir=str(args.corpus), index_dir=str(onnx["index"]))
    searches, imports = [], []
    for _ in range(args.repeat):
        seconds, code, _ = run_cli(["search", QUESTION], env)
        if code != 0:
            raise SystemExit(f"rag search failed (exit {code})")
        searches.append(seconds)
        imports.append(import_seconds())
    results["search"] = {"cold_search_s": statistics.median(searches), "import_st_s": statistics.median(imports),
                         "ratio": statistics.median(searches) / statistics.median(imports),
                         "runs": {"search": searches, "import": imports}}
    if not args.no_ask:
        seconds, code, rss_kb = run_cli(["ask", QUESTION], env)
        results["ask"] = {"seconds": seconds, "exit": code, "peak_rss_gb": rss_kb * 1024 / 1e9}

    (CACHE / "results-embed.json").write_text(json.dumps(results, indent=2))
    i, s = results["ingest"], results["search"]
    print(f"corpus {args.corpus} ({mb:.2f} MB, {i['chunks']} chunks)")
    print(f"(a) cold ingest (defaults: onnx, bf16 batches where the CPU has it) {i['cold_ingest_s']:.1f} s vs raw torch encode {i['raw_encode_s']:.1f} s: "
          f"throughput ratio {i['ratio']:.2f} (target >= 1.8)")
    if "fp32_cold_ingest_s" in i:
        print(f"    cold ingest (onnx, RAG_EMBED_BF16=false) {i['fp32_cold_ingest_s']:.1f} s: ratio {i['fp32_ratio']:.2f}")
    if "torch_cold_ingest_s" in i:
        print(f"    cold ingest (torch) {i['torch_cold_ingest_s']:.1f} s: ratio {i['torch_ratio']:.2f}")
    print(f"(b) cold rag search {s['cold_search_s']:.2f} s vs import sentence_transformers {s['import_st_s']:.2f} s: "
          f"ratio {s['ratio']:.2f} (target <= 0.5)")
    if "ask" in results:
        a = results["ask"]
        print(f"(c) rag ask: peak RSS {a['peak_rss_gb']:.2f} GB in {a['seconds']:.1f} s, exit {a['exit']} (target <= 2.0 GB)")
    print(f"(figures saved to {CACHE / 'results-embed.json'})")


if __name__ == "__main__":
    main()
