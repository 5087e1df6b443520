"""RAG_EMBED=openai: a corpus ingested through an OpenAI-compatible embeddings server (a real HTTP
server on loopback serving the packaged model) retrieves what the local embedder retrieves; a server
that is down is one clear error."""
from __future__ import annotations

import json
import shutil

import pytest

from rag.cli import main
from rag.embedding import backend
from rag.ingest import ingest
from rag.retrieve import Retriever
from rag.store import Store
from tests.embedding_server import embeddings_server
from tests.helpers import DEFAULT_CORPUS, REPO, free_port, make_big_corpus, make_settings

QUESTIONS = [json.loads(line)["question"] for line in (REPO / "eval" / "questions.jsonl").open()][:25]


def test_ingest_through_a_server_finds_what_the_local_embedder_finds(tmp_path):
    shutil.copytree(DEFAULT_CORPUS, tmp_path / "corpus")
    make_big_corpus(tmp_path / "corpus", files=6)
    local = make_settings(tmp_path / "local", corpus_dir=tmp_path / "corpus", embed_int8=False)
    ingest(local, show_progress=False)
    fp32 = backend(local)
    with embeddings_server(lambda texts: fp32.embed(texts, 32)) as (url, served):
        remote = make_settings(tmp_path / "remote", corpus_dir=tmp_path / "corpus", embed="openai",
                               embed_openai_base_url=url, embed_openai_model="all-MiniLM-L6-v2",
                               embed_batch_size=8, embed_concurrency=4)
        report = ingest(remote, show_progress=False)
        assert report.chunks_added > 40 and not report.failed
        assert served.requests >= report.chunks_added / 8
        assert served.max_in_flight >= 2  # several batches in flight
        assert Store(remote).embedder_record() == "minilm-l6-v2/openai"
        remote_retriever, local_retriever = Retriever(remote), Retriever(local)
        for question in QUESTIONS:
            got = [h.id for h in remote_retriever.search(question, k=5, mode="dense")]
            assert got == [h.id for h in local_retriever.search(question, k=5, mode="dense")], question
        # Same model on both sides: the server's index is searched by the local embedder too.
        assert Retriever(remote.replace(embed="onnx")).search(QUESTIONS[0], k=3)


def test_server_down_is_one_clear_error(tmp_path, capsys, monkeypatch):
    shutil.copytree(DEFAULT_CORPUS, tmp_path / "corpus")
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    for name, value in {"RAG_EMBED": "openai", "RAG_EMBED_OPENAI_BASE_URL": url}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    code = main(["ingest", "--corpus", str(tmp_path / "corpus"), "--index", str(tmp_path / "index"), "-q"])
    err = capsys.readouterr().err
    assert code == 4
    assert f"the embeddings server at {url} is unreachable" in err and "RAG_EMBED=onnx" in err
    assert "Traceback" not in err
    settings = make_settings(tmp_path, embed="openai", embed_openai_base_url=url)
    assert Store(settings).file_records() == {}  # nothing half-written


@pytest.mark.parametrize("status", [401, 404])
def test_server_refusal_names_the_status(tmp_path, status):
    from fastapi import HTTPException

    def refuse(texts):
        raise HTTPException(status_code=status, detail="no such model")

    with embeddings_server(refuse, delay_s=0) as (url, _):
        settings = make_settings(tmp_path, embed="openai", embed_openai_base_url=url, embed_openai_model="missing")
        from rag.errors import BackendError

        with pytest.raises(BackendError, match=f"answered {status} for model 'missing'"):
            backend(settings).embed(["hello"], 8)
