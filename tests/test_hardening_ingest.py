"""Regression tests for the ingestion findings of issue 11: real files, real embedded Chroma."""
from __future__ import annotations

import os

import pytest

from rag.ingest import ingest
from rag.store import Store
from tests.conftest import make_settings

ARTICLES = 2  # files in the default corpus


# --- 2: one malformed file must not stop the whole ingest ----------------------------------------

def test_malformed_html_and_undecodable_name_are_skipped_per_file(settings):
    corpus = settings.corpus_dir
    (corpus / "broken.html").write_text("<html><body><p>Misrata port notes</p><![abc]></body></html>")
    undecodable = os.fsencode(corpus) + b"/m\xe9mo.txt"  # a name that is not valid UTF-8
    with open(undecodable, "wb") as handle:
        handle.write(b"The Misrata memo describes the port.\n")

    report = ingest(settings, show_progress=False)

    assert len(report.added) == ARTICLES, report
    assert "broken.html" in report.failed
    assert any("UTF-8" in reason for source, reason in report.failed.items() if source.startswith("m")), report.failed
    assert len(Store(settings).file_records()) == ARTICLES
    again = ingest(settings, show_progress=False)  # and on every later run too
    assert len(again.skipped) == ARTICLES and len(again.failed) == 2
