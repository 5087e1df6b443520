"""The ONNX embedder against the torch one (same word pieces, same vectors), the index's record of
its embedder, and a cold query path that never imports torch. Real packaged model, real Chroma."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rag.chunking import chunk_text
from rag.embedding import (BF16_MIN_TEXTS, UNRECORDED, _bf16, _load_bf16, backend, bf16_wanted, embed_documents,
                           embedder_name, same_vectors, token_counts)
from rag.embedding_bf16 import Bf16Embedder, native_bf16
from rag.embedding_onnx import length_batches
from rag.errors import BackendError
from rag.ingest import ingest
from rag.loaders import load_document
from rag.retrieve import Retriever
from rag.store import Store
from tests.helpers import DEFAULT_CORPUS, REPO

HEAVY = ("torch", "transformers", "sentence_transformers")


def corpus_texts() -> tuple[list[str], list[str]]:
    """Chunks of the default corpus, of debian-history (in the repository, so a fresh clone has them)
    and of the cached external corpora (when built), and questions."""
    chunks = []
    folders = [DEFAULT_CORPUS, REPO / "eval" / "corpora" / "debian-history"] + [
        REPO / ".cache" / name / "corpus" for name in ("perlfaq", "debian-faq", "privoxy-faq")]
    for folder in folders:
        files = sorted(p for p in folder.rglob("*") if p.is_file())[:3] if folder.is_dir() else []
        for path in files:
            doc = load_document(path, 20_000_000)
            chunks += [c.embed_text for c in chunk_text(doc.text, doc.title, 160, 32)][:12]
    questions = [json.loads(line)["question"] for line in (REPO / "eval" / "questions.jsonl").open()]
    return chunks, questions


@pytest.fixture(scope="module")
def texts():
    return corpus_texts()


@pytest.fixture(scope="module")
def torch_vectors(texts):
    from sentence_transformers import SentenceTransformer

    from rag.embedding import model_path

    model = SentenceTransformer(str(model_path()), device="cpu")
    chunks, questions = texts
    return (model.encode(chunks, batch_size=32, normalize_embeddings=True),
            model.encode(questions, batch_size=32, normalize_embeddings=True))


def test_word_pieces_match_the_transformers_tokenizer(texts):
    from transformers import AutoTokenizer

    from rag.embedding import model_path

    chunks, questions = texts
    odd = ["", "naïve café — 東京 🙂", "https://example.org/a_b?c=1", "getContent() os.path.join File::Basename",
           "x" * 3000, "Tobruk\tport\n\nstatistics"]
    sample = chunks + questions + odd
    reference = AutoTokenizer.from_pretrained(str(model_path()))
    expected = [len(ids) for ids in reference(sample, add_special_tokens=False)["input_ids"]]
    assert token_counts(sample) == expected


def test_onnx_vectors_agree_with_torch(settings, texts, torch_vectors):
    chunks, questions = texts
    torch_chunks, torch_questions = torch_vectors
    assert len(chunks) > 20  # 29 on a fresh clone, more where the external sets are built
    fp32 = backend(settings)  # question-time work: fp32
    cos = (fp32.embed(chunks, 32) * torch_chunks).sum(axis=1)
    assert cos.min() >= 0.999
    cos = (fp32.embed(questions, 32) * torch_questions).sum(axis=1)
    assert cos.min() >= 0.999
    int8 = embed_documents(chunks, settings.replace(embed_int8=True))  # documents: int8 weights
    cos = (int8 * torch_chunks).sum(axis=1)
    # Measured: mean 0.994, worst 0.977 (a short chunk); retrieval hit@5 is compared in the README.
    assert cos.mean() >= 0.99 and cos.min() >= 0.97, (cos.min(), cos.mean())


needs_native_bf16 = pytest.mark.skipif(not native_bf16(), reason="this CPU has no native bf16 (AVX512-BF16/AMX)")


@needs_native_bf16
def test_large_document_batches_run_in_bf16_with_torch_vectors(settings, texts, torch_vectors):
    chunks, _ = texts
    torch_chunks, _ = torch_vectors
    copies = -(-BF16_MIN_TEXTS // len(chunks))
    _load_bf16.cache_clear()
    embed_documents(chunks[:5], settings)  # a small batch is not worth loading torch for
    assert _load_bf16.cache_info().misses == 0
    vectors = embed_documents(chunks * copies, settings)  # as large as an ingest's batches: bf16
    assert _load_bf16.cache_info().misses == 1 and isinstance(_bf16(settings), Bf16Embedder)
    cos = (vectors[:len(chunks)] * torch_chunks).sum(axis=1)
    assert cos.min() >= 0.999, cos.min()  # measured: 0.99995 at worst on privoxy-faq's 1,018 chunks
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert not bf16_wanted(settings.replace(embed_int8=True)) and not bf16_wanted(settings.replace(embed_bf16=False))


def test_bf16_embedder_gives_the_torch_vectors_on_any_cpu(settings, texts, torch_vectors):
    """The class itself, where the CPU emulates bf16 (slowly): its batching and pooling are checked
    even on machines where the ingest never picks it."""
    chunks, _ = texts
    torch_chunks, _ = torch_vectors
    from rag.embedding import model_path
    from rag.embedding_models import MINILM

    vectors = Bf16Embedder(model_path(), 0, "minilm-l6-v2/onnx", MINILM).embed(chunks, 64)
    assert (vectors * torch_chunks).sum(axis=1).min() >= 0.999


def test_batches_keep_within_the_word_piece_budget():
    lengths = [200, 12, 180, 15, 210, 190, 14, 205, 3, 201]
    batches = length_batches(lengths, most=64, budget=600)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    assert all(len(b) * max(lengths[i] for i in b) <= 600 for b in batches)
    assert [lengths[i] for b in batches for i in b] == sorted(lengths)  # short with short: little padding
    assert batches[0] == [8, 1, 6, 3]  # the four short ones together
    assert all(len(b) <= 2 for b in length_batches(lengths, most=2, budget=600))
    assert length_batches([5000], most=64, budget=600) == [[0]]  # longer than the budget: alone
    assert len(length_batches(lengths, most=64, budget=None)) == 1


def test_bf16_falls_back_to_onnx_when_torch_will_not_load(settings, texts, monkeypatch, caplog):
    chunks, _ = texts
    many = chunks * -(-BF16_MIN_TEXTS // len(chunks))
    monkeypatch.setitem(sys.modules, "torch", None)  # an install without torch: `import torch` fails
    monkeypatch.setattr("rag.embedding_bf16.native_bf16", lambda: True)
    _load_bf16.cache_clear()
    try:
        vectors = embed_documents(many, settings)
    finally:
        _load_bf16.cache_clear()
    assert "bf16 document embedding unavailable" in caplog.text
    assert np.allclose(vectors, backend(settings, documents=True).embed(many, 64), atol=1e-6)


def test_vectors_keep_order_and_unit_length(settings):
    texts = ["a much longer text than the others, about the African Defense Chiefs Conference in Botswana",
             "short", "", "medium length question about Libya?"]
    batched = backend(settings).embed(texts, 2)
    single = np.vstack([backend(settings).embed([t], 1) for t in texts])
    assert np.allclose(batched, single, atol=1e-5)
    assert np.allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)


def test_index_records_its_embedder_and_refuses_another(settings):
    ingest(settings, show_progress=False)
    store = Store(settings)
    assert store.embedder_record() == embedder_name(settings) == "minilm-l6-v2/onnx"
    question = "Where was the conference held?"
    # The same model through torch (or a server announcing it) reads the same index.
    assert Retriever(settings.replace(embed="torch")).search(question, k=3)
    other = settings.replace(embed="openai", embed_openai_model="nomic-embed-text")
    with pytest.raises(BackendError, match="built by the embedder minilm-l6-v2/onnx.*--rebuild"):
        Retriever(other).search(question, k=3)
    with pytest.raises(BackendError, match="built by the embedder"):
        ingest(other, show_progress=False)
    assert Store(settings).chunks.count() > 0  # the refused ingest deleted nothing


def test_rebuild_replaces_a_foreign_embedder(settings):
    ingest(settings, show_progress=False)
    store = Store(settings)
    store.put_embedder_record("nomic-embed-text/openai")
    with pytest.raises(BackendError, match="nomic-embed-text/openai"):
        ingest(settings, show_progress=False)
    report = ingest(settings, rebuild=True, show_progress=False)
    assert report.chunks_added == report.chunks_total > 0
    assert Store(settings).embedder_record() == "minilm-l6-v2/onnx"


def test_index_without_a_record_counts_as_torch(settings):
    ingest(settings, show_progress=False)
    store = Store(settings)
    store.files.delete(ids=["embedder"])  # as indexes built before the record existed
    assert same_vectors(UNRECORDED, embedder_name(settings))
    assert Retriever(settings).search("Where was the conference held?", k=2)


def run_without_torch(code: str, settings) -> dict:
    """Run `code` in a fresh interpreter, then report which heavy modules it imported."""
    script = (f"import sys, json\nsys.path.insert(0, {str(REPO)!r})\n"
              "from tests.helpers import make_settings\nfrom pathlib import Path\n"
              f"settings = make_settings(Path({str(settings.index_dir.parent)!r}))\n{code}\n"
              f"print(json.dumps({{'heavy': [m for m in {HEAVY!r} if m in sys.modules], 'out': str(out)[:300]}}))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=REPO)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("code", [
    "from rag.cli import main\nassert main(['search', 'Where was the conference held?', '--index', "
    "str(settings.index_dir), '--corpus', str(settings.corpus_dir)]) == 0\nout = 'ok'",
    "from rag.cli import main\nassert main(['ask', 'Where was the conference held?', '--llm', 'extractive', "
    "'--index', str(settings.index_dir), '--corpus', str(settings.corpus_dir)]) == 0\nout = 'ok'",
    "from ui.app import ChatApp\napp = ChatApp(settings.replace(llm='extractive'))\napp.warm_up()\n"
    "out = app.answerer(app.settings).ask('Where was the conference held?').answer",
], ids=["rag search", "rag ask extractive", "ui answer"])
def test_query_paths_never_import_torch(default_index, code):
    outcome = run_without_torch(code, default_index)
    assert outcome["heavy"] == [], outcome
    assert outcome["out"] == "ok" or "[1]" in outcome["out"], outcome  # a cited answer


def test_search_reads_bm25_without_llama_index(default_index):
    # llama-index's package import is ~1.7 s of a cold `rag search`; the BM25 index is read with bm25s.
    code = ("from rag.cli import main\nassert main(['search', 'Where was the conference held?', '--mode', 'hybrid', "
            "'--index', str(settings.index_dir), '--corpus', str(settings.corpus_dir)]) == 0\n"
            "out = sorted(m for m in sys.modules if m.startswith('llama_index.core'))")
    assert run_without_torch(code, default_index)["out"] == "[]"
