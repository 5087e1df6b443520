"""`python -m eval [options]` evaluates; `python -m eval diff …` compares two reports;
`python -m eval generate …` writes a question set from a corpus."""
import sys

SUBCOMMANDS = {"diff": "eval.diff", "generate": "eval.generate"}


def main() -> int:
    import importlib

    argv = sys.argv[1:]
    if argv and argv[0] in SUBCOMMANDS:
        return importlib.import_module(SUBCOMMANDS[argv[0]]).main(argv[1:])
    from eval.run import main as evaluate

    return evaluate(argv)


sys.exit(main())
