"""Evaluation of the pipeline over a question file: `python -m eval` (see eval/run.py) and the
external perlfaq question set (`python -m eval.external`)."""
