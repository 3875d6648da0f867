"""Settings: hsar.toml + HSAR_* environment, typed, unknown keys rejected; the rendered file round-trips."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from repository import config
from repository.errors import ConfigError


def test_defaults_without_a_file(tmp_path: Path) -> None:
    cfg = config.load(tmp_path, environ={})
    assert cfg["audit.interval_days"] == 90
    assert cfg["search.engine"] == "whoosh"
    assert cfg.catalog_url == f"sqlite:///{tmp_path.resolve() / 'catalog.sqlite'}"
    assert cfg.path("storage.root") == (tmp_path / "storage").resolve()


def test_rendered_toml_parses_and_loads_to_the_defaults(tmp_path: Path) -> None:
    text = config.render_toml()
    data = tomllib.loads(text)
    assert set(f"{s}.{k}" for s, t in data.items() for k in t) == set(config.BY_KEY)
    (tmp_path / "hsar.toml").write_text(text, "utf-8")
    assert config.load(tmp_path, environ={}).as_dict() == {s.key: s.default for s in config.SETTINGS}


def test_file_and_environment_override(tmp_path: Path) -> None:
    (tmp_path / "hsar.toml").write_text('[audit]\ninterval_days = 30\n[storage]\nreplicas = ["/mnt/b"]\n', "utf-8")
    cfg = config.load(tmp_path, environ={"HSAR_AUDIT_INTERVAL_DAYS": "7", "HSAR_SEARCH_ENGINE": "tantivy"})
    assert cfg["audit.interval_days"] == 7
    assert cfg["search.engine"] == "tantivy"
    assert cfg["storage.replicas"] == ["/mnt/b"]


@pytest.mark.parametrize(("text", "needle"), [
    ("[audit]\nintervall_days = 3\n", "unknown setting 'audit.intervall_days'"),
    ("[nosuch]\nkey = 1\n", "unknown setting 'nosuch.key'"),
    ("[audit]\ninterval_days = \"soon\"\n", "audit.interval_days must be int"),
    ("[audit\n", "hsar.toml"),
    ("[audit]\nhashing = \"fibers\"\n", "audit.hashing must be one of processes, threads, not 'fibers'"),
    ("[search]\nengine = \"lucene\"\n", "search.engine must be one of whoosh, tantivy"),
])
def test_bad_files_are_refused_with_a_clear_message(tmp_path: Path, text: str, needle: str) -> None:
    (tmp_path / "hsar.toml").write_text(text, "utf-8")
    with pytest.raises(ConfigError, match=None) as info:
        config.load(tmp_path, environ={})
    assert needle in str(info.value)


def test_bad_environment_value(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="HSAR_LIMITS_MAX_RATIO"):
        config.load(tmp_path, environ={"HSAR_LIMITS_MAX_RATIO": "lots"})
    with pytest.raises(ConfigError, match="HSAR_FORMATS_BROKEN_SIGNATURE: formats.broken_signature must be one of"):
        config.load(tmp_path, environ={"HSAR_FORMATS_BROKEN_SIGNATURE": "ignore"})
    assert config.load(tmp_path, environ={"HSAR_AUDIT_HASHING": "threads"})["audit.hashing"] == "threads"


def test_home_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HSAR_HOME", str(tmp_path))
    assert config.resolve_home(None) == tmp_path
    monkeypatch.delenv("HSAR_HOME")
    assert config.resolve_home(None) == Path("hsar-data")
