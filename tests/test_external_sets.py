"""The external question sets' builders (eval.htmlfaq, eval.external): questions parsed, evidence
verbatim in the corpus the project's loader reads, question headings gone.

The real-package tests download debian-faq, debian-reference-en and privoxy with `apt-get download`
(about 3 MB, the Debian registry only) and build a small sample: two FAQ pages, one distractor."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from eval import external, htmlfaq
from eval.dataset import EvalInputError, load_questions
from eval.metrics import normalize
from rag.loaders import load_document

# DocBook-shaped, as debian-faq ships it: numbered headings in nested divs, a chapter table of
# contents and navigation bars, a cross-reference quoting another question, a non-question subsection.
SAMPLE = """<html><head><title>Chapter 8. Package tools</title></head><body>
<div class="navheader"><a href="prev.html">Prev</a> Chapter 7 <a href="next.html">Next</a></div>
<div class="chapter"><h1 class="title">Chapter 8. Package tools</h1>
<div class="toc"><a href="#a">8.1. What programs does Debian provide for managing its packages?</a></div>
<div class="section"><div class="titlepage"><h2 class="title">8.1. What programs does Debian provide for
managing its packages?</h2></div>
<p>There are multiple tools that are used to manage Debian packages, from graphic or text-based
interfaces to the low level tools.</p>
<div class="section"><h3>8.1.1. dpkg</h3><p>This is the main package management program; it installs,
removes and inspects <code>.deb</code> files.</p></div></div>
<div class="section"><h2>8.2. How can I tell what packages are already installed?</h2>
<p>To know all the packages installed in a Debian system, run <code>dpkg-query --list</code>; see also
<a class="xref" href="#a" title="8.1. What programs...">Section 8.1, "What programs does Debian provide for
managing its packages?"</a> for the tools.</p></div>
<div class="section"><h2>8.3. Is this a question?</h2><p>Too short.</p></div>
<div class="section"><h2>8.4. Release notes</h2><p>Not a question heading: it stays in the text.</p></div>
</div><div class="navfooter">Chapter 9. Kernel</div></body></html>"""


def _page(tmp_path: Path, html: str) -> Path:
    page = tmp_path / "page.html"
    page.write_text(html, encoding="utf-8")
    return page


def _written(tmp_path: Path, html: str) -> str:
    return normalize(load_document(_page(tmp_path, html), max_bytes=1 << 20).text)


def test_faq_page_questions_evidence_and_removed_headings(tmp_path):
    html, questions = htmlfaq.faq_page(SAMPLE, "pkgtools")
    assert [q.id for q in questions] == ["pkgtools-8.1", "pkgtools-8.2"]  # 8.3's answer is too short
    assert questions[0].question == "What programs does Debian provide for managing its packages?"
    text = _written(tmp_path, html)
    for q in questions:
        assert normalize(q.evidence[0]) in text, q.id
        assert normalize(q.question) not in text, f"heading of {q.id} still indexed"
    # the non-question subsection belongs to 8.1's answer and keeps its heading; 8.2's does not include 8.3
    assert "8.1.1. dpkg" in questions[0].evidence[0] and "inspects .deb files" in questions[0].evidence[0]
    assert "Too short" not in questions[1].evidence[0]
    assert "section 8.1 for the tools" in normalize(questions[1].evidence[0])  # the quoting link, cut
    assert "8.4. release notes" in text
    # each removed question heading leaves its number, so its answer is a section of its own
    doc = load_document(_page(tmp_path, html), max_bytes=1 << 20)
    assert [path[-1] for _, path in doc.layout.sections] == ["Chapter 8. Package tools", "8.1.", "8.1.1. dpkg",
                                                             "8.2.", "8.3.", "8.4. Release notes"]
    assert "prev" not in text.split() and "chapter 9" not in text  # navigation dropped


def test_combined_table_has_every_set_and_the_average():
    def run(hit5):
        summary = {"questions": 10, "hit@1": 0.1, "hit@3": 0.2, "hit@5": hit5, "mrr": 0.15}
        return {"configs": {"dense": {"summary": summary}, "hybrid": {"summary": summary}}}

    table = external.combined_table({"a": run(0.5), "b": run(0.7)})
    rows = [line.split() for line in table.splitlines()]
    assert ["a", "dense", "10", "0.100", "0.200", "0.500", "0.150"] in rows
    assert ["average", "hybrid", "0.100", "0.200", "0.600", "0.150"] in rows


def test_unknown_set_is_a_clear_error():
    with pytest.raises(EvalInputError, match="unknown set"):
        external.parse_sets("perlfaq,nosuchfaq")


@pytest.fixture(scope="module")
def package_cache(tmp_path_factory):
    if not shutil.which("apt-get") or not shutil.which("dpkg"):
        pytest.skip("needs a Debian system (apt-get, dpkg)")
    return tmp_path_factory.mktemp("external-sets")


@pytest.mark.parametrize("name", sorted(htmlfaq.SETS))
def test_real_faq_sample_builds_with_verbatim_evidence(name, package_cache):
    spec = htmlfaq.SETS[name]
    corpus, questions_file, pages = htmlfaq.build(spec, package_cache / name, distractors=1, pages=2)
    questions = load_questions(questions_file)
    assert pages == 3 and len(list(corpus.glob("faq-*.html"))) == 2 and len(list(corpus.glob("doc-*.html"))) == 1
    assert len(questions) >= 5, "the sample pages hold several questions each"
    assert all(q.question.strip() and q.evidence and len(q.evidence[0]) >= htmlfaq.MIN_ANSWER_CHARS for q in questions)
    missing, leaked = htmlfaq.check(corpus, questions)
    assert missing == [], "evidence not found verbatim in the indexed text"
    assert leaked == [], "question text still in the indexed text"
