import json
from pathlib import Path

import pytest

from rag.cli import main
from rag.config import LLM_BACKENDS, RETRIEVAL_MODES, Settings, load_settings
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
    ({"RAG_TOP_K": "many"}, r"top_k must be an integer between 1 and 50, not 'many' \(from RAG_TOP_K\)"),
    ({"RAG_RETRIEVAL_MODE": "magic"}, "retrieval_mode must be one of dense, bm25, hybrid"),
    ({"RAG_LLM": "gpt"}, "llm must be one of local, openai, ollama, extractive"),
    ({"RAG_CHUNK_SIZE": "400"}, "chunk_size must be an integer between 32 and 250"),
    # rrf_k=-1 used to pass and divide by zero at query time (1 / (rrf_k + rank 1))
    ({"RAG_RRF_K": "-1"}, r"rrf_k must be an integer >= 1, not '-1' \(from RAG_RRF_K\)"),
    ({"RAG_RRF_K": "0"}, "rrf_k must be"),
    ({"RAG_DENSE_WEIGHT": "0"}, "dense_weight must be a number > 0"),
    ({"RAG_BM25_WEIGHT": "-1"}, "bm25_weight must be a number > 0"),
    ({"RAG_CANDIDATES": "0"}, "candidates must be an integer >= 1"),
    ({"RAG_PORT": "70000"}, "port must be an integer between 1 and 65535"),
    ({"RAG_CHROMA_PORT": "0"}, "chroma_port must be an integer between 1 and 65535"),
    ({"RAG_REFUSAL_MIN_SCORE": "1.5"}, "refusal_min_score must be a number between 0 and 1"),
    ({"RAG_REFUSAL_MIN_SCORE": "-0.1"}, "refusal_min_score must be a number between 0 and 1"),
    ({"RAG_TEMPERATURE": "nan"}, "temperature must be a number between 0 and 2"),
    ({"RAG_MAX_FILE_MB": "0"}, "max_file_mb must be a number > 0"),
    ({"RAG_UPLOAD_MAX_MB": "-5"}, "upload_max_mb must be a number > 0"),
    ({"RAG_REQUEST_TIMEOUT": "0"}, "request_timeout must be a number > 0"),
    ({"RAG_EMBED_BATCH_SIZE": "0"}, "embed_batch_size must be an integer >= 1"),
    ({"RAG_PASSAGE_CHARS": "0"}, "passage_chars must be an integer >= 1"),
    ({"RAG_LLM_THREADS": "-2"}, "llm_threads must be an integer >= 0"),
    ({"RAG_CHUNK_OVERLAP": "80"}, r"chunk_overlap must be below half of chunk_size \(160\), not 80"),
    ({"RAG_CHUNK_SIZE": "64", "RAG_CHUNK_OVERLAP": "40"}, r"below half of chunk_size \(64\)"),
    ({"RAG_MAX_NEW_TOKENS": "5000"}, r"max_new_tokens must be below context_window \(4096\)"),
    ({"RAG_OPENAI_BASE_URL": "localhost:8080"}, "openai_base_url must be an http:// or https:// URL"),
    ({"RAG_OLLAMA_HOST": "ollama"}, "ollama_host must be an http:// or https:// URL"),
    ({"RAG_COLLECTION": "a"}, "collection must be 3 to"),
    ({"RAG_HOST": ""}, "host must be a non-empty name"),
    ({"RAG_ALLOW_OPEN": "maybe"}, "allow_open must be true or false"),
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
    with pytest.raises(ConfigError, match=f"unknown setting.* in config file {unknown}: topk"):
        load_settings(env={"RAG_CONFIG": str(unknown)})
    nested = tmp_path / "nested.toml"
    nested.write_text("[retrieval]\ntop_k = 3\n")  # sections are not a thing: settings are flat
    with pytest.raises(ConfigError, match="unknown setting.*: retrieval"):
        load_settings(env={"RAG_CONFIG": str(nested)})
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"top_k = 3\n\xff\xfe")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(env={"RAG_CONFIG": str(binary)})


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
    assert err.startswith("error: top_k must be an integer between 1 and 50, not '0' (from RAG_TOP_K)")
    assert "Traceback" not in err and err.count("\n") == 1


def test_precedence_is_env_over_file_over_defaults(tmp_path: Path):
    config = tmp_path / "custom.toml"
    config.write_text("top_k = 7\ncandidates = 40\ndense_weight = 1\n")
    s = load_settings(env={"RAG_CONFIG": str(config), "RAG_TOP_K": "9"})
    assert (s.top_k, s.candidates, s.dense_weight) == (9, 40, 1.0)  # env, file, file (an int read as float)
    assert s.rrf_k == Settings().rrf_k  # default


def test_rag_toml_in_working_directory(tmp_path: Path, monkeypatch):
    (tmp_path / "rag.toml").write_text('llm = "extractive"\n')
    monkeypatch.chdir(tmp_path)
    assert load_settings(env={}).llm == "extractive"
    assert Settings().llm == "local"  # Settings(...) is its arguments only: no file, no environment


def test_file_values_are_checked_and_the_file_named(tmp_path: Path):
    config = tmp_path / "rag.toml"
    config.write_text("rrf_k = -1\n")
    with pytest.raises(ConfigError, match=f"rrf_k must be an integer >= 1, not -1 \\(from {config}\\)"):
        load_settings(env={"RAG_CONFIG": str(config)})


def test_load_settings_reads_only_the_given_env(monkeypatch):
    monkeypatch.setenv("RAG_TOP_K", "11")
    monkeypatch.setenv("RAG_CONFIG", "/nonexistent/rag.toml")
    assert load_settings(env={}) == Settings()
    assert Settings().top_k == 5
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings()  # None means os.environ


def test_every_field_has_its_env_name():
    defaults = Settings().as_dict()
    changed = {"corpus_dir": "docs", "top_k": 8, "llm": "ollama", "allow_open": True, "temperature": 0.5,
               "openai_api_key": "sk-test", "chunk_overlap": 16}
    env = {f"RAG_{name.upper()}": str(changed.get(name, value)) for name, value in defaults.items()}
    s = load_settings(env=env)
    assert s == Settings().replace(**changed)
    assert s.corpus_dir == Path("docs") and s.openai_api_key == "sk-test"


def test_every_number_has_a_range():
    """Every numeric setting rejects at least negative values, so none can break a formula later."""
    for name, field in Settings.model_fields.items():
        if field.annotation in (int, float):
            assert any(getattr(m, "ge", None) is not None or getattr(m, "gt", None) is not None
                       for m in field.metadata), f"{name} has no lower bound"
    assert set(RETRIEVAL_MODES) == {"dense", "bm25", "hybrid"} and "extractive" in LLM_BACKENDS


def test_several_errors_in_one_line():
    with pytest.raises(ConfigError) as caught:
        load_settings(env={"RAG_PORT": "0", "RAG_RRF_K": "-1", "RAG_TOP_K": "x"})
    message = str(caught.value)
    assert "\n" not in message and all(name in message for name in ("port", "rrf_k", "top_k"))


def test_replace_reads_strings_like_the_environment(tmp_path: Path):
    base = Settings()
    s = base.replace(top_k="8", allow_open="yes", temperature="0.3", index_dir=str(tmp_path), llm=None,
                     retrieval_mode="bm25")
    assert (s.top_k, s.allow_open, s.temperature, s.llm, s.retrieval_mode) == (8, True, 0.3, "local", "bm25")
    assert s.index_dir == tmp_path and s.chroma_path == tmp_path / "chroma"
    assert base.top_k == 5 and base.replace() == base  # a copy; None and nothing change nothing
    assert load_settings(env={"RAG_ALLOW_OPEN": ""}).allow_open is False  # set but empty means off


@pytest.mark.parametrize("changes, message", [
    ({"rrf_k": -1}, "rrf_k must be an integer >= 1, not -1$"),
    ({"top_k": "many"}, "top_k must be an integer between 1 and 50, not 'many'"),
    ({"llm": "gpt"}, "llm must be one of"),
    ({"topk": 3}, "unknown setting 'topk'"),
    ({"chunk_size": 40}, r"chunk_overlap must be below half of chunk_size \(40\), not 32"),
])
def test_replace_validates(changes, message):
    with pytest.raises(ConfigError, match=message):
        Settings().replace(**changes)


def test_settings_are_frozen_and_keyword_built(tmp_path: Path):
    s = Settings(corpus_dir=str(tmp_path), top_k=3)
    assert s.corpus_dir == tmp_path and s.bm25_path == Path(".index") / "bm25"
    with pytest.raises(Exception):
        s.top_k = 4  # shared between UI sessions: nobody may change it in place
    with pytest.raises(ConfigError, match="top_k"):
        Settings(top_k=0)


def test_secrets_are_masked(capsys, monkeypatch):
    s = Settings(openai_api_key="sk-live-123", auth_password="hunter2")
    shown = s.as_dict()
    assert shown["openai_api_key"] == "***" and shown["auth_password"] == "***"
    assert "sk-live-123" not in repr(s) and "hunter2" not in repr(s)
    defaults = Settings().as_dict()
    assert defaults["openai_api_key"] == "not-needed" and defaults["auth_password"] == ""  # nothing secret
    monkeypatch.setenv("RAG_OPENAI_API_KEY", "sk-live-123")
    assert main(["config", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["openai_api_key"] == "***" and printed["index_dir"] == ".index"


def test_fusion_alpha_is_a_fraction_or_auto():
    assert load_settings({"RAG_FUSION_ALPHA": "0.3"}).fusion_alpha == 0.3
    assert load_settings({}).fusion_alpha == "auto"
    for bad in ("2", "high"):
        with pytest.raises(ConfigError, match="fusion_alpha must be a number between 0 and 1, or auto, not"):
            load_settings({"RAG_FUSION_ALPHA": bad})
