"""The BM25 index (llama-index's BM25Retriever over bm25s), persisted beside the vector store.

It is rebuilt only when the corpus changed (its signature, a hash of the file manifest and of the
analyzer version, differs), never per query: peers that rebuilt it on every query became unusably
slow (open-webui #8579).

Text and queries go through one analyzer (`analyze`) that fits prose and code: English stop words
dropped (NLTK's list, which also drops question words) and Snowball stemming (PyStemmer), plus
identifiers kept whole *and* split into their parts (`get_content`, `getContent`, `os.path.join`,
`File::Basename`), so a question in words ("how do I get the content") meets code that spells it
as one identifier.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import tempfile
import threading
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

from rag.store import FileRecord, Store

SIGNATURE_FILE = "signature.json"
# Metadata the lexical index sees, like the embedder: the chunk's heading path ("Title › Section"),
# or its title in documents without headings; the rest (spans, hashes, pages) is bookkeeping.
SEARCHED_METADATA = ("heading", "title")
# Part of the signature: an index built by another analyzer is rebuilt, never queried with this one.
ANALYZER_VERSION = "stem-nltkstop-identifiers-headingpath-2+names"
# Beside the index: the words the corpus only ever writes with a capital (see capitalised_only).
NAMES_FILE = "names.json"
# A word, or an identifier joined by dots or double colons (os.path.join, File::Basename).
IDENTIFIER = re.compile(r"\w+(?:(?:\.|::)\w+)*")
# The parts of an identifier: camelCase humps, ALLCAPS runs, digits; underscores and dots separate.
PART = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
MIN_TOKEN_CHARS = 2


def _retriever_class():
    from llama_index.retrievers.bm25 import BM25Retriever

    logging.getLogger("bm25s").setLevel(logging.WARNING)  # bm25s sets itself to DEBUG on import
    return BM25Retriever


def corpus_signature(records: dict[str, FileRecord]) -> str:
    lines = sorted(f"{r.source}\0{r.file_hash}\0{r.chunks}\0{r.recipe}" for r in records.values())
    return hashlib.sha256("\n".join([ANALYZER_VERSION, *lines]).encode()).hexdigest()


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def english_stopwords() -> frozenset[str]:
    """NLTK's English list as llama-index bundles it (179 words). It drops question words ("how",
    "what", "can", "my") that bm25s's 33-word Lucene list keeps: on the external sets, BM25 MRR@5
    0.449 against 0.402 (averaged over perlfaq, debian-faq, privoxy-faq).

    Read from the file llama-index bundles rather than through `globals_helper.stopwords`, which
    imports nltk (with scipy and scikit-learn: ~2 s of a cold `rag search`) to read the same list."""
    from importlib.util import find_spec

    # The package's folder without running its __init__ (which imports all of llama-index: ~1.7 s).
    package = find_spec("llama_index.core")
    folder = Path(next(iter(package.submodule_search_locations))) if package else Path()
    bundled = folder / "_static" / "nltk_cache" / "corpora" / "stopwords" / "english"
    try:
        return frozenset(bundled.read_text(encoding="utf-8").split())
    except OSError:  # a llama-index release that moved the file: the slow way still works
        from llama_index.core.utils import globals_helper

        return frozenset(globals_helper.stopwords)


def identifier_tokens(text: str) -> list[str]:
    """Lower-cased words; an identifier made of several parts yields itself, then each part."""
    tokens = []
    for match in IDENTIFIER.finditer(text):
        word = match.group()
        tokens.append(word.lower())
        parts = PART.findall(word)
        if len(parts) > 1:
            tokens.extend(p.lower() for p in parts)
    return tokens


def analyze(text: str) -> list[str]:
    """The terms BM25 indexes and matches: identifier_tokens, stop words and 1-character tokens
    dropped, then stemmed ("installing packages" and "installed package" meet)."""
    stop = english_stopwords()
    kept = [t for t in identifier_tokens(text) if len(t) >= MIN_TOKEN_CHARS and t not in stop]
    return _stemmer().stemWords(kept)


def indexed_terms(nodes: list) -> list[list[str]]:
    """Each chunk's terms as the index holds them: its text under its heading path (the embedded text), analyzed."""
    from llama_index.core.schema import MetadataMode

    return [analyze(n.get_content(metadata_mode=MetadataMode.EMBED)) for n in nodes]


def _analyzed_retriever(nodes: list):
    """llama-index's BM25Retriever over a bm25s index of analyzed texts (persisted the same way)."""
    retriever_class = _retriever_class()  # first: it quiets bm25s's logger
    import bm25s
    from llama_index.core.vector_stores.utils import node_to_metadata_dict

    index = bm25s.BM25()
    index.index(indexed_terms(nodes), show_progress=False)
    index.corpus = [node_to_metadata_dict(n) | {"node_id": n.node_id} for n in nodes]
    return retriever_class(existing_bm25=index)


def search(retriever, question: str, n: int, feedback: int = 0) -> list[tuple[object, float]]:
    """(node, score) pairs, best first, for the question analyzed as the indexed texts were;
    chunks sharing no term with it are left out. With `feedback` > 0 the query is expanded from that
    many best chunks first (`expanded`). Read-only, so concurrent callers are safe."""
    index = retriever.bm25
    terms = analyze(question)
    if not index.get_tokens_ids(terms):
        return []
    found = _retrieve(retriever, terms, n if not feedback else max(n, feedback))
    if feedback and found:
        found = _retrieve(retriever, expanded(index, terms, [node for node, _ in found[:feedback]]), n)
    return found[:n]


def scores_of(retriever, question: str, chunk_ids: list[str]) -> dict[str, float]:
    """The question's BM25 score of each chunk asked for (0 for a chunk sharing no term with it, or
    unknown to the index): convex fusion needs the scores of dense candidates BM25 did not rank."""
    index = retriever.bm25
    terms = [t for t in analyze(question) if t in index.vocab_dict]
    if not terms or not chunk_ids:
        return dict.fromkeys(chunk_ids, 0.0)
    rows = retriever.row_of_id
    scores = index.get_scores(terms)
    return {cid: float(scores[rows[cid]]) if cid in rows else 0.0 for cid in chunk_ids}


def _retrieve(retriever, terms: list[str], n: int) -> list[tuple[StoredChunk, float]]:
    index = retriever.bm25
    ids, scores = index.retrieve([terms], k=min(n, int(index.scores["num_docs"])), show_progress=False, n_threads=0)
    # bm25s hands back the stored node dicts when the index holds its corpus, else their positions
    return [(StoredChunk.decode(doc if isinstance(doc, dict) else retriever.corpus[int(doc)]), float(score))
            for doc, score in zip(ids[0], scores[0]) if score > 0]


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as BM25Retriever stored it (llama-index's node_to_metadata_dict), with the three
    TextNode members the query path reads. Decoded here rather than by metadata_dict_to_node: that
    import alone loads all of llama-index (~1.7 s, 40 % of a cold `rag search`) to read a JSON string."""
    node_id: str
    text: str
    metadata: dict

    @classmethod
    def decode(cls, doc: dict) -> StoredChunk:
        node = json.loads(doc["_node_content"])
        return cls(doc.get("node_id") or node["id_"], node["text"], node["metadata"])

    def get_content(self) -> str:  # TextNode.get_content() with its default MetadataMode.NONE
        return self.text


@dataclass(frozen=True)
class LoadedIndex:
    """What the query path reads of a persisted BM25Retriever: the bm25s index and its stored chunks,
    and the corpus's names (capitalised_only, lower-cased)."""
    bm25: object
    corpus: list
    names: frozenset = frozenset()

    @cached_property
    def row_of_id(self) -> dict[str, int]:
        """Chunk id -> row of the bm25s index, made on first use (one pass over the stored chunks, whose
        id is stored beside the node's JSON, so nothing is decoded)."""
        return {doc.get("node_id") or StoredChunk.decode(doc).node_id: row for row, doc in enumerate(self.corpus)}


FEEDBACK_TERMS = 8  # terms added by pseudo-relevance feedback
QUERY_WEIGHT = 2    # the question's own terms count this many times in the expanded query


def expanded(index, terms: list[str], feedback_nodes: list) -> list[str]:
    """Pseudo-relevance feedback (RM3-like, without a library that offers it for bm25s): the terms
    most typical of the best chunks (share of each chunk's terms times IDF) are added to the query,
    whose own terms are repeated to keep their weight."""
    import math
    from collections import Counter

    vocab, indptr = index.vocab_dict, index.scores["indptr"]
    docs = int(index.scores["num_docs"])
    weights: Counter = Counter()
    for node in feedback_nodes:
        counts = Counter(analyze(node.get_content()))
        total = sum(counts.values()) or 1
        for term, count in counts.items():
            if term in vocab and term not in terms:
                df = int(indptr[vocab[term] + 1] - indptr[vocab[term]])
                weights[term] += count / total * math.log(1 + (docs - df + 0.5) / (df + 0.5))
    return terms * QUERY_WEIGHT + [t for t, _ in weights.most_common(FEEDBACK_TERMS)]


def stored_signature(path: Path) -> str | None:
    try:
        return json.loads((path / SIGNATURE_FILE).read_text())["signature"]
    except (OSError, ValueError, KeyError):
        return None


def chunk_node(chunk_id: str, text: str, metadata: dict):
    from llama_index.core.schema import TextNode

    return TextNode(id_=chunk_id, text=text, metadata=dict(metadata),
                    excluded_embed_metadata_keys=[k for k in metadata if k != _searched_key(metadata)],
                    excluded_llm_metadata_keys=list(metadata))


def _searched_key(metadata: dict) -> str:
    """The heading path when the chunk has one (it starts with the title), else the title."""
    return next((k for k in SEARCHED_METADATA if metadata.get(k)), "title")


_BUILD_LOCKS: dict[str, threading.Lock] = {}
_BUILD_LOCKS_GUARD = threading.Lock()


def _build_lock(path: Path) -> threading.Lock:
    with _BUILD_LOCKS_GUARD:
        return _BUILD_LOCKS.setdefault(str(path.resolve()), threading.Lock())


def build(store: Store, path: Path, signature: str) -> None:
    """Write a fresh index to a temporary folder, then swap it in: a crash never leaves half an index.

    Builds in one process (the UI's ingest and a retriever's refresh) take turns; the temporary and
    the replaced folders are unique per build, so builds of several processes never share one."""
    with _build_lock(path):
        nodes = [chunk_node(cid, text, meta) for cid, text, meta in store.all_chunks()]
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=path.name + ".tmp-", dir=path.parent))
        old = tmp.with_name(tmp.name.replace(".tmp-", ".old-"))
        try:
            if nodes:
                _analyzed_retriever(nodes).persist(str(tmp), show_progress=False)
            (tmp / NAMES_FILE).write_text(json.dumps(sorted(capitalised_only(n.text for n in nodes))))
            (tmp / SIGNATURE_FILE).write_text(json.dumps({"signature": signature, "chunks": len(nodes)}))
            if path.exists():
                path.rename(old)
            tmp.rename(path)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.rmtree(old, ignore_errors=True)


def load(path: Path):
    """The persisted index, or None for an empty corpus. Read with bm25s itself, as
    BM25Retriever.from_persist_dir does, so that the query path never imports llama-index."""
    if not (path / "params.index.json").exists():
        return None
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)  # bm25s sets itself to DEBUG on import
    index = bm25s.BM25.load(str(path), load_corpus=True, show_progress=False)
    return LoadedIndex(index, index.corpus, load_names(path))


def load_names(path: Path) -> frozenset[str]:
    """The words the corpus only writes as names, stored beside the BM25 index; none for an index
    built before the analyzer version that added the file, or one that is gone."""
    try:
        return frozenset(json.loads((path / NAMES_FILE).read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return frozenset()


# A capitalised word after a lower-case word or a comma: a name, not a sentence's or a title's start.
CAPITALISED_INSIDE = re.compile(r"(?<=[a-z,;] )([A-Z][A-Za-z]+)\b")
LOWER_CASE_WORD = re.compile(r"\b[a-z][a-z]+\b")
MIN_NAME_CHARS = 3


def capitalised_only(texts) -> set[str]:
    """The words (lower-cased) the texts write with a capital inside a sentence and never in lower
    case: "Bookworm" in "is currently codenamed Bookworm". A question that types such a word in lower
    case ("what kernel did bookworm ship with?") still names it, and the answer check then wants it in
    the passages shown, as it wants any name."""
    capitalised: set[str] = set()
    lower: set[str] = set()
    for text in texts:
        capitalised.update(w.lower() for w in CAPITALISED_INSIDE.findall(text))
        lower.update(LOWER_CASE_WORD.findall(text))
    stop = english_stopwords()
    return {w for w in capitalised - lower if len(w) >= MIN_NAME_CHARS and w not in stop}


def ensure_current(store: Store, path: Path, records: dict[str, FileRecord] | None = None) -> bool:
    """Rebuild when missing or stale (e.g. another client of a Chroma server changed the corpus)."""
    signature = corpus_signature(records if records is not None else store.file_records())
    if stored_signature(path) == signature:
        return False
    build(store, path, signature)
    return True
