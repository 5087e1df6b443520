"""20 concurrent conversations through gradio_client: all answered, none sees another's history."""
import pytest

from bench.bench_load import run_load
from tests.helpers import running_ui


@pytest.mark.slow
def test_twenty_concurrent_conversations(tmp_path):
    with running_ui(tmp_path) as (url, _):
        stats = run_load(url, conversations=20)
    print(f"load: {stats['throughput_rps']:.1f} requests/s, p95 {stats['p95_s'] * 1000:.0f} ms")
    assert stats["requests"] == 40 and stats["all_answered"]
    assert stats["all_kept_own_context"] and stats["mixed"] == []
