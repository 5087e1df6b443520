"""kill -9 of `rag ingest` at random moments, many times in a row (make reliability)."""
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from rag.ingest import ingest
from tests.helpers import index_state, make_big_corpus, make_settings

pytestmark = pytest.mark.reliability
ROUNDS = 10


def test_ten_kills_in_a_row_each_repaired(tmp_path):
    corpus = tmp_path / "corpus"
    make_big_corpus(corpus, files=30)  # ~300 chunks
    clean = make_settings(tmp_path / "clean", corpus_dir=corpus)
    ingest(clean, show_progress=False)
    expected = index_state(clean)
    assert len(expected) >= 200

    settings = make_settings(tmp_path, corpus_dir=corpus)
    env = dict(os.environ, RAG_CORPUS_DIR=str(corpus), RAG_INDEX_DIR=str(settings.index_dir),
               RAG_EMBED_BATCH_SIZE="8")
    rng = random.Random(2026)
    for round_no in range(ROUNDS):
        # Each round first dirties the index differently: a fresh file version, or a rebuild.
        flag = ["--rebuild"] if round_no % 3 == 2 else []
        if round_no % 3 == 1:
            target = corpus / f"doc{round_no:03d}.txt"
            target.write_text(target.read_text() + f"\nRevision {round_no}.\n")
        proc = subprocess.Popen([sys.executable, "-m", "rag", "ingest", "-q", *flag], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(4.0, 14.0))  # start-up is ~4-8 s: kills land before, during and after writes
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        ingest(settings, show_progress=False)
        ingest(clean, show_progress=False)
        assert index_state(settings) == index_state(clean), f"round {round_no}: index differs from a clean build"
