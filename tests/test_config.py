from pathlib import Path

import pytest

from rag.cli import main
from rag.config import Settings, load_settings
from rag.errors import ConfigError


def test_defaults_are_offline_and_local():
    s = load_settings(env={})
    assert s == Settings()
    assert s.host == "127.0.0.1" and s.llm == "local" and s.retrieval_mode == "hybrid"
    assert not s.uses_chroma_server


def test_env_overrides_file(tmp_path: Path):
    config = tmp_path / "rag.toml"
    config.write_text('top_k = 7\nretrieval_mode = "bm25"\nchroma_host = "db.local"\n')
    s = load_settings(env={"RAG_CONFIG": str(config), "RAG_TOP_K": "9", "RAG_ALLOW_OPEN": "yes"})
    assert s.top_k == 9  # environment beats the file
    assert s.retrieval_mode == "bm25" and s.chroma_host == "db.local" and s.uses_chroma_server
    assert s.allow_open is True
    assert isinstance(s.index_dir, Path)


@pytest.mark.parametrize("env, message", [
    ({"RAG_TOP_K": "many"}, "cannot read 'many' as int"),
    ({"RAG_RETRIEVAL_MODE": "magic"}, "retrieval_mode must be one of"),
    ({"RAG_LLM": "gpt"}, "llm must be one of"),
    ({"RAG_CHUNK_SIZE": "400"}, "chunk_size must be between"),
    ({"RAG_CONFIG": "/nonexistent/rag.toml"}, "does not exist"),
])
def test_bad_settings_are_named(env, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(env=env)


def test_bad_toml_and_unknown_keys(tmp_path: Path):
    bad = tmp_path / "bad.toml"
    bad.write_text("top_k = = 3")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(env={"RAG_CONFIG": str(bad)})
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("topk = 3")
    with pytest.raises(ConfigError, match="unknown setting"):
        load_settings(env={"RAG_CONFIG": str(unknown)})


def test_rag_config_prints_effective_settings(capsys, monkeypatch):
    monkeypatch.setenv("RAG_TOP_K", "11")
    monkeypatch.setenv("RAG_AUTH_PASSWORD", "secret")
    assert main(["config"]) == 0
    out = capsys.readouterr().out
    assert "top_k" in out and "11" in out
    assert "secret" not in out


def test_cli_reports_bad_setting_without_traceback(capsys, monkeypatch):
    monkeypatch.setenv("RAG_TOP_K", "0")
    assert main(["config"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: top_k must be between") and "Traceback" not in err
