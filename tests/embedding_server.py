"""A small OpenAI-compatible embeddings server for tests: FastAPI + uvicorn on a loopback port,
serving the packaged model through the project's ONNX embedder at /v1/embeddings, counting the
requests and how many were in flight at once."""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager

from tests.helpers import free_port, wait_for_port


class Served:
    def __init__(self, embed, delay_s: float):
        self.embed = embed
        self.delay_s = delay_s  # keeps each request open long enough for overlap to be visible
        self.requests = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()

    def app(self):
        from fastapi import FastAPI

        app = FastAPI()

        @app.post("/v1/embeddings")
        def embeddings(body: dict) -> dict:  # sync: FastAPI runs it in its thread pool
            with self._lock:
                self.requests += 1
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
            try:
                texts = [body["input"]] if isinstance(body["input"], str) else body["input"]
                time.sleep(self.delay_s)
                vectors = self.embed(texts)
            finally:
                with self._lock:
                    self.in_flight -= 1
            return {"object": "list", "model": body["model"],
                    "data": [{"object": "embedding", "index": i, "embedding": v.tolist()} for i, v in enumerate(vectors)],
                    "usage": {"prompt_tokens": 0, "total_tokens": 0}}

        return app


@contextmanager
def embeddings_server(embed, delay_s: float = 0.2):
    """Yields (base_url, Served); stops the server on exit."""
    import uvicorn

    served = Served(embed, delay_s)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(served.app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}/v1", served
    finally:
        server.should_exit = True
        thread.join(timeout=10)
