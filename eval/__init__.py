"""Evaluation of the pipeline over a question file: `python -m eval` (see eval/run.py), with quality
gates (eval/gates.py) and foreign question formats (eval/formats.py); `python -m eval diff` compares two
reports (eval/diff.py); `python -m eval generate` writes a question set from a corpus (eval/generate.py);
the external perlfaq question set is `python -m eval.external`."""
