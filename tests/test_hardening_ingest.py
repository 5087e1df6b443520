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


# --- 4: archive-based formats are limited by their expanded size ----------------------------------

def write_docx(path, paragraphs: int, text: str = "Benghazi port logistics report. ") -> None:
    import zipfile

    body = "".join(f"<w:p><w:r><w:t>{text * 20}</w:t></w:r></w:p>" for _ in range(paragraphs))
    document = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
                f"<w:body>{body}</w:body></w:document>")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml",
                         '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                         'content-types"><Override PartName="/word/document.xml" ContentType="application/'
                         'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
        archive.writestr("word/document.xml", document)


def test_docx_decompression_bomb_is_refused_before_parsing(settings):
    from rag.loaders import load_document

    bomb = settings.corpus_dir / "bomb.docx"
    write_docx(bomb, paragraphs=40_000)  # ~30 MB of XML in a file of a few tens of KB
    assert bomb.stat().st_size < 200_000
    small = settings.replace(max_file_mb=2.0)
    with pytest.raises(Exception, match="expands to"):
        load_document(bomb, int(small.max_file_mb * 1e6))
    report = ingest(small, show_progress=False)
    assert "expands to" in report.failed["bomb.docx"] and len(report.added) == ARTICLES

    fine = settings.corpus_dir / "fine.docx"  # an ordinary document still reads
    write_docx(fine, paragraphs=3)
    assert "Benghazi" in load_document(fine, int(small.max_file_mb * 1e6)).text
