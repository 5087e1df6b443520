import zipfile
from pathlib import Path

import pytest

from rag.chunking import chunk_text
from rag.embedding import MODEL_WINDOW, token_counts
from rag.loaders import UnreadableFile, html_to_text, load_document

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
ASSAD = CORPUS / "libya-russia-us-strategic-competition-after-fall-of-assad.txt"
LANGLEY = CORPUS / "US-pushes-unified-Libyan-army-to-counter-Russian-expansion.txt"
MB = 10**6


def write_minimal_pdf(path: Path, text: str) -> None:
    """A real one-page PDF with a text stream, written by hand (no PDF writer in the stack)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))


def write_minimal_docx(path: Path, paragraphs: list[str]) -> None:
    body = "".join(f"<w:p><w:r><w:t>{p}</w:t></w:r></w:p>" for p in paragraphs)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                   '<Default Extension="xml" ContentType="application/xml"/>'
                   '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
        z.writestr("word/document.xml", '<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
                   f"<w:body>{body}</w:body></w:document>")


def test_corpus_metadata():
    assad = load_document(ASSAD, 10 * MB)
    assert assad.title == "Libya: Russia, US in Strategic Competition in East After Fall of Assad"
    assert assad.metadata["date"] == "2024-12-16"
    assert assad.text == ASSAD.read_text(encoding="utf-8")  # spans index the file itself
    langley = load_document(LANGLEY, 10 * MB)
    assert langley.metadata["publisher"] == "INTERNATIONALIST 360°"
    assert langley.title == "US pushes unified Libyan army to counter Russian expansion"  # no headline: the name


def test_markdown_html_pdf_docx(tmp_path: Path):
    md = tmp_path / "notes.md"
    md.write_text("Intro line\n\n# Field Report\n\nPublished 3 March 2023. Body text.\n")
    doc = load_document(md, MB)
    assert doc.title == "Field Report" and doc.metadata["date"] == "2023-03-03"

    text, title = html_to_text("<html><head><title>T &amp; C</title><script>alert(1)</script></head>"
                               "<body><h1>Head</h1><p>Para <b>one</b>.</p><style>p{}</style><p>Two</p></body></html>")
    assert title == "T & C" and text == "Head\nPara one.\nTwo"

    pdf = tmp_path / "memo.pdf"
    write_minimal_pdf(pdf, "Benghazi meeting memo")
    assert "Benghazi meeting memo" in load_document(pdf, MB).text

    docx = tmp_path / "brief.docx"
    write_minimal_docx(docx, ["Gaborone briefing", "Second paragraph"])
    loaded = load_document(docx, MB)
    assert "Gaborone briefing" in loaded.text and "Second paragraph" in loaded.text


@pytest.mark.parametrize("name, content, reason", [
    ("empty.txt", b"", "empty file"),
    ("blob.txt", b"\x7fELF\x00\x01\x02" * 50, "binary file"),
    ("latin.txt", "caf\u00e9 au lait".encode("latin-1"), "not UTF-8 text (invalid byte 0xe9 at offset 3)"),
    ("broken.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog", "cannot parse .pdf file"),
    ("broken.docx", b"PK\x03\x04 not really a zip", "cannot parse .docx file"),
    ("blank.md", b"   \n\n  ", "no text in the file"),
    ("image.png", b"\x89PNG....", "unsupported file type .png"),
])
def test_bad_files_say_why(tmp_path: Path, name: str, content: bytes, reason: str):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(UnreadableFile) as err:
        load_document(path, MB)
    assert reason in str(err.value)


def test_size_limit(tmp_path: Path):
    big = tmp_path / "big.txt"
    big.write_text("word " * 1000)
    with pytest.raises(UnreadableFile, match="too large"):
        load_document(big, 1000)


def _window_tokens(chunk) -> int:
    return token_counts([chunk.embed_text])[0] + 2  # [CLS] and [SEP]


def test_chunks_have_exact_spans_and_fit_the_window():
    for path in (ASSAD, LANGLEY):
        doc = load_document(path, MB)
        chunks = chunk_text(doc.text, doc.title, chunk_size=160, overlap=60)
        assert len(chunks) >= 3
        for chunk in chunks:
            assert doc.text[chunk.start:chunk.end] == chunk.text
            assert chunk.embed_text.startswith(doc.title)
            assert _window_tokens(chunk) <= MODEL_WINDOW
        covered = set()
        for chunk in chunks:
            covered.update(range(chunk.start, chunk.end))
        words = [i for i, ch in enumerate(doc.text) if not ch.isspace()]
        assert all(i in covered for i in words), "every word of the document is in some chunk"
        overlapping = [a for a, b in zip(chunks, chunks[1:]) if b.start < a.end]
        assert overlapping, "short closing sentences are repeated at the start of the next chunk"
        assert all(a.start < b.start for a, b in zip(chunks, chunks[1:]))


def test_long_sentences_and_long_titles_still_fit():
    sentence = " ".join(f"token{i} Benghazi-Tripoli" for i in range(400))  # one 'sentence', >> window
    title = "A very long title " * 30
    chunks = chunk_text(sentence + ". Short end.", title, chunk_size=250, overlap=0)
    assert len(chunks) > 3
    for chunk in chunks:
        assert _window_tokens(chunk) <= MODEL_WINDOW
        assert sentence[chunk.start:chunk.end] == chunk.text or chunk.text.endswith("Short end.")


def test_repeated_passages_keep_their_own_spans():
    text = "Same sentence here.\n" * 3 + "Different ending."
    chunks = chunk_text(text, "t", chunk_size=32, overlap=0)
    starts = [c.start for c in chunks]
    assert starts == sorted(set(starts)) and all(text[c.start:c.end] == c.text for c in chunks)
