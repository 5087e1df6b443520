"""`python -m eval [options]` evaluates; `python -m eval diff …` compares two reports;
`python -m eval generate …` writes a question set from a corpus; `python -m eval replay …` decides
again on a report's stored drafts with the current answer checks."""
import sys

SUBCOMMANDS = {"diff": "eval.diff", "generate": "eval.generate", "replay": "eval.replay"}


def main() -> int:
    import importlib

    argv = sys.argv[1:]
    if argv and argv[0] in SUBCOMMANDS:
        return importlib.import_module(SUBCOMMANDS[argv[0]]).main(argv[1:])
    from eval.run import main as evaluate

    return evaluate(argv)


sys.exit(main())
