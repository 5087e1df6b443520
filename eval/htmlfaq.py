"""Question sets from HTML FAQs in Debian packages (for `python -m eval.external`).

A FAQ page's question headings become questions and the text under each, up to the next question
or the next heading of the same or a higher level, becomes its gold evidence. The pages are
indexed as HTML (the project's own loader reads them) *without* the question headings, and with
cross-references that quote a question ("Section 7.6, “What is ...?”") cut to their number, so a
question cannot find itself verbatim. Other documentation on the same subject is added as
distractors. Navigation (DocBook's Prev/Next bars, per-chapter tables of contents) is dropped from
every page.
"""
from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from eval import debpkg
from eval.dataset import EvalInputError, Question, write_questions
from eval.metrics import normalize

HEADINGS = ["h1", "h2", "h3", "h4", "h5", "h6"]
NUMBER = re.compile(r"^((?:\d+\.)*\d+)\.?\s+")  # "3.1.2. " in front of a DocBook heading
MARK = "FAQSETMARK{}END"
MARKS = re.compile(r"FAQSETMARK(\d+)END")
MIN_ANSWER_CHARS = 100  # shorter answers are pointers ("See section 4"), not answers
GOLD_ANSWER_CHARS = 400
XREF_MIN_CHARS = 15  # a link quoting a question at least this long is cut to its number


@dataclass(frozen=True)
class HtmlFaqSet:
    name: str
    package: str  # Debian package holding the FAQ pages
    faq_dir: str  # folder of the FAQ pages inside the package
    faq_glob: str
    skip: tuple[str, ...]  # pages never indexed: tables of contents list every question verbatim
    distractor_package: str
    distractor_dir: str
    distractor_pages: tuple[str, ...]


SETS = {
    "debian-faq": HtmlFaqSet(
        name="debian-faq", package="debian-faq", faq_dir="usr/share/doc/debian/FAQ", faq_glob="*.en.html",
        skip=("index.en.html",),
        # Debian Reference chapters on the FAQ's subjects (packages, boot, accounts, network, i18n, data)
        distractor_package="debian-reference-en", distractor_dir="usr/share/debian-reference",
        distractor_pages=tuple(f"ch{n:02d}.en.html" for n in (2, 3, 4, 5, 6, 7, 8, 10))),
    "privoxy-faq": HtmlFaqSet(
        name="privoxy-faq", package="privoxy", faq_dir="usr/share/doc/privoxy/faq", faq_glob="*.html",
        skip=("index.html",),
        # the user manual of the same program: the hardest kind of distractor
        distractor_package="privoxy", distractor_dir="usr/share/doc/privoxy/user-manual",
        distractor_pages=("introduction.html", "whatsnew.html", "quickstart.html", "installation.html",
                          "startup.html", "configuration.html", "config.html", "actions-file.html",
                          "filter-file.html", "templates.html", "contact.html", "copyright.html",
                          "seealso.html", "appendix.html")),
}


@dataclass
class _Heading:
    tag: object  # the bs4 element
    level: int
    number: str
    text: str  # without its number

    @property
    def is_question(self) -> bool:
        return self.level >= 2 and "?" in self.text


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _soup(html: str):
    from bs4 import BeautifulSoup  # comes with llama-index-readers-file

    return BeautifulSoup(html, "html.parser")


def _drop_navigation(soup) -> None:
    """DocBook's Prev/Next bars and a chapter's own table of contents: links, not content."""
    for div in soup.find_all("div", class_=re.compile(r"^(nav(header|footer)|toc)$", re.IGNORECASE)):
        div.decompose()


def _headings(soup) -> list[_Heading]:
    found = []
    for tag in soup.find_all(HEADINGS):
        full = _collapse(tag.get_text(" "))
        match = NUMBER.match(full)
        found.append(_Heading(tag, int(tag.name[1]), match.group(1) if match else "",
                              full[match.end():] if match else full))
    return found


def cut_question_links(soup, questions: list[str]) -> None:
    """A link whose text quotes a question keeps only its "Section N" part (or nothing)."""
    quoted = [q for q in questions if len(q) >= XREF_MIN_CHARS]
    for link in soup.find_all("a"):
        text = _collapse(link.get_text(" "))
        if any(q in text for q in quoted):
            section = re.match(r"(Section|Chapter)\s+[\d.]*\d", text)
            link.clear()
            link.append(section.group(0) if section else "")


def _answer_spans(headings: list[_Heading]) -> dict[int, int]:
    """For each question heading index, the index of the heading that ends its answer."""
    ends = {}
    for i, h in enumerate(headings):
        if not h.is_question:
            continue
        j = i + 1
        while j < len(headings) and not headings[j].is_question and headings[j].level > h.level:
            j += 1  # a non-question subsection ("8.1.1. dpkg") is part of the answer
        ends[i] = j
    return ends


def faq_page(html: str, page_id: str, all_questions: list[str] | None = None) -> tuple[str, list[Question]]:
    """The page as HTML without its question headings, and one question per heading.

    all_questions: question texts of the whole set, for cutting cross-references that quote a
    question of another page (default: this page's)."""
    soup = _soup(html)
    _drop_navigation(soup)
    headings = _headings(soup)
    cut_question_links(soup, all_questions if all_questions is not None else
                       [h.text for h in headings if h.is_question])
    # Mark where every heading starts, render once with the project's loader, cut the text at the marks.
    marks = []
    for i, h in enumerate(headings):
        mark = soup.new_tag("p")
        mark.string = MARK.format(i)
        h.tag.insert_before(mark)
        marks.append(mark)
        if h.is_question:
            h.tag.decompose()
    segments = _segments(str(soup), len(headings))
    _number_only_headings(soup, headings, marks)
    questions = []
    for i, end in _answer_spans(headings).items():
        answer = _collapse(" ".join(segments[i:end]))
        if len(answer) < MIN_ANSWER_CHARS:
            continue
        h = headings[i]
        gold = answer[:GOLD_ANSWER_CHARS].rsplit(" ", 1)[0] if len(answer) > GOLD_ANSWER_CHARS else answer
        questions.append(Question(id=f"{page_id}-{h.number or i}", question=h.text, answer=gold,
                                  evidence=[answer], kind="faq"))
    for mark in marks:
        mark.decompose()
    return str(soup), questions


def _number_only_headings(soup, headings: list[_Heading], marks: list) -> None:
    """A removed question heading leaves its number behind as a heading ("8.2."): the answer stays a
    section of its own under the right chapter, as it is in the real page, instead of running on
    under the heading before it (which would give its chunks that heading's path), and no word of
    the question is indexed."""
    for h, mark in zip(headings, marks):
        if h.is_question and h.number:
            stub = soup.new_tag(f"h{h.level}")
            stub.string = f"{h.number}."
            mark.insert_after(stub)


def _segments(html: str, count: int) -> list[str]:
    """Text after each mark, up to the next one (segment i follows mark i)."""
    from rag.loaders import html_to_text

    text, _ = html_to_text(html)
    pieces = MARKS.split(text)  # [before, 0, text0, 1, text1, ...]
    segments = [""] * count
    for number, piece in zip(pieces[1::2], pieces[2::2]):
        segments[int(number)] = piece
    return segments


def page_questions(html: str) -> list[str]:
    """The question headings of a page (for cutting cross-references before building)."""
    return [h.text for h in _headings(_soup(html)) if h.is_question]


def distractor_page(html: str, questions: list[str]) -> str:
    soup = _soup(html)
    _drop_navigation(soup)
    cut_question_links(soup, questions)
    return str(soup)


def _read(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")  # older DocBook output declares ISO-8859-1


def faq_pages(spec: HtmlFaqSet, cache: Path) -> list[Path]:
    folder = debpkg.unpacked(spec.package, cache) / spec.faq_dir
    pages = sorted(p for p in folder.glob(spec.faq_glob) if p.name not in spec.skip)
    if not pages:
        raise EvalInputError(f"no {spec.faq_glob} pages in {folder} (package {spec.package})")
    return pages


def distractor_paths(spec: HtmlFaqSet, cache: Path, count: int) -> list[Path]:
    folder = debpkg.unpacked(spec.distractor_package, cache) / spec.distractor_dir
    paths = [folder / name for name in spec.distractor_pages[:count]]
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise EvalInputError(f"{spec.distractor_package} has no {', '.join(missing)} in {folder}")
    return paths


def build(spec: HtmlFaqSet, cache: Path, distractors: int | None = None,
          pages: int | None = None) -> tuple[Path, Path, int]:
    """Writes cache/corpus/*.html and cache/questions.jsonl; returns their paths and the page count.
    `pages` and `distractors` limit the FAQ pages and distractor pages (small samples for tests)."""
    faq = faq_pages(spec, cache)[:pages]
    extra = distractor_paths(spec, cache, len(spec.distractor_pages) if distractors is None else distractors)
    corpus = cache / "corpus"
    shutil.rmtree(corpus, ignore_errors=True)  # rewritten identically: ingest sees unchanged hashes
    corpus.mkdir(parents=True)
    sources = {p: _read(p) for p in faq}
    every_question = [q for html in sources.values() for q in page_questions(html)]
    questions: list[Question] = []
    for path, html in sources.items():
        stem = path.name.split(".")[0]
        page, found = faq_page(html, stem, every_question)
        (corpus / f"faq-{stem}.html").write_text(page, encoding="utf-8")
        questions += found
    for path in extra:
        (corpus / f"doc-{path.name.split('.')[0]}.html").write_text(
            distractor_page(_read(path), every_question), encoding="utf-8")
    if not questions:
        raise EvalInputError(f"no questions found in {spec.package}'s FAQ pages")
    questions_file = cache / "questions.jsonl"
    write_questions(questions_file, questions)
    return corpus, questions_file, len(faq) + len(extra)


def corpus_text(corpus: Path) -> dict[str, str]:
    """Each corpus file as the project's loader reads it (what gets chunked and searched)."""
    from rag.loaders import load_document

    return {p.name: load_document(p, max_bytes=1 << 30).text for p in sorted(corpus.iterdir()) if p.is_file()}


def check(corpus: Path, questions: list[Question]) -> tuple[list[str], list[str]]:
    """Question ids whose evidence is not in the corpus verbatim (whitespace and case aside), and
    those whose question text still is (a heading left in, a quoting link)."""
    text = normalize("\n".join(corpus_text(corpus).values()))
    missing = [q.id for q in questions if not all(normalize(e) in text for e in q.evidence)]
    leaked = [q.id for q in questions if normalize(q.question) in text]
    return missing, leaked
