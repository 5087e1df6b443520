"""What an answer is made of: the numbered passages (citations), the checked sentences, the result
and the events `Answerer.stream` yields. The CLI, the UI, the JSON output and eval all read these."""
from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class Citation:
    n: int
    id: str
    source: str
    title: str
    start: int       # character offsets of `text` in the source document
    end: int
    text: str        # the (trimmed) passage exactly as shown to the model
    score: float     # the retriever's score for the chunk (rrf in hybrid mode, cosine in dense, bm25)
    cited: bool = False
    supported: bool | None = None
    page: int | None = None        # PDF page (1-based) the passage starts on; None for other formats
    page_end: int | None = None    # the page it ends on, when that is another one
    heading: str = ""              # "Title › Section › Subsection" for formats with headings
    page_offset: int | None = None  # where `page` starts in the document text (for the page viewer)

    def location(self) -> str:
        return page_label(self.page, self.page_end)


def page_label(page: int | None, page_end: int | None = None) -> str:
    """"p. 6", "pp. 6–7" or "" (no page: not a PDF)."""
    if page is None:
        return ""
    return f"pp. {page}–{page_end}" if page_end else f"p. {page}"


@dataclass
class AnswerSentence:
    text: str
    citations: list[int]
    supported: bool | None  # None: nothing to check it against (no passages)


@dataclass
class AnswerResult:
    question: str
    standalone_question: str
    answer: str
    refused: bool
    citations: list[Citation]
    sentences: list[AnswerSentence]
    # rewrite_s, retrieve_s: how long each step took; first_token_s, total_s: since the question came
    timings: dict[str, float]
    llm: str
    evidence: float = 0.0  # best dense cosine of the question to a retrieved passage
    refusal_reason: str = ""  # which check refused (empty for an answer)
    draft: str = ""  # what the generator wrote, before the checks kept or refused it

    def as_json(self) -> dict:
        return {
            "question": self.question,
            "standalone_question": self.standalone_question,
            "answer": self.answer,
            "refused": self.refused,
            "citations": [{k: asdict(c)[k] for k in ("n", "source", "title", "start", "end", "page", "page_end",
                                                     "heading", "text", "score", "supported", "cited", "id")} for c in self.citations],
            "sentences": [asdict(s) for s in self.sentences],
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "llm": self.llm,
            "evidence": round(self.evidence, 4),
            "refusal_reason": self.refusal_reason,
            "draft": self.draft,
        }


@dataclass
class SourcesEvent:
    citations: list[Citation]
    standalone_question: str


@dataclass
class TokenEvent:
    text: str


@dataclass
class DoneEvent:
    result: AnswerResult
