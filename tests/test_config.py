"""Settings: hsar.toml + HSAR_* environment, typed, unknown keys rejected; the rendered file round-trips."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from repository import config
from repository.cli import cli
from repository.errors import ConfigError
from repository.safeurl import safe_url


def test_defaults_without_a_file(tmp_path: Path) -> None:
    cfg = config.load(tmp_path, environ={})
    assert cfg["audit.interval_days"] == 90
    assert cfg["search.engine"] == "tantivy"  # the default since issue #15
    assert cfg.catalog_url == f"sqlite:///{tmp_path.resolve() / 'catalog.sqlite'}"
    assert cfg.path("storage.root") == (tmp_path / "storage").resolve()


def test_rendered_toml_parses_and_loads_to_the_defaults(tmp_path: Path) -> None:
    text = config.render_toml()
    data = tomllib.loads(text)
    assert set(f"{s}.{k}" for s, t in data.items() for k in t) == set(config.BY_KEY)
    (tmp_path / "hsar.toml").write_text(text, "utf-8")
    assert config.load(tmp_path, environ={}).as_dict() == {s.key: s.default for s in config.SETTINGS}
    from repository.home import init_home

    init_home(tmp_path / "demo")  # what `make demo` runs first (`hsar init`): its file loads unchanged
    assert config.load(tmp_path / "demo", environ={}).as_dict() == {s.key: s.default for s in config.SETTINGS}


def test_file_and_environment_override(tmp_path: Path) -> None:
    (tmp_path / "hsar.toml").write_text('[audit]\ninterval_days = 30\n[storage]\nreplicas = ["/mnt/b"]\n', "utf-8")
    cfg = config.load(tmp_path, environ={"HSAR_AUDIT_INTERVAL_DAYS": "7", "HSAR_SEARCH_ENGINE": "whoosh"})
    assert cfg["audit.interval_days"] == 7
    assert cfg["search.engine"] == "whoosh"
    assert cfg["storage.replicas"] == ["/mnt/b"]


@pytest.mark.parametrize(("text", "needle"), [
    ("[audit]\nintervall_days = 3\n", "未知的设置 'audit.intervall_days' / unknown setting 'audit.intervall_days'"),
    ("[nosuch]\nkey = 1\n", "未知的设置 'nosuch.key' / unknown setting 'nosuch.key'"),
    ("[audit]\ninterval_days = \"soon\"\n", "audit.interval_days 必须是整数（int） / must be int"),
    ("[audit\n", "hsar.toml: 配置文件不是有效的 TOML / hsar.toml: the settings file is not valid TOML"),
    ("[audit]\nhashing = \"fibers\"\n",
     "audit.hashing 只能是 processes, threads 之一 / must be one of processes, threads, not 'fibers'"),
    ("[search]\nengine = \"lucene\"\n", "search.engine 只能是 whoosh, tantivy 之一 / must be one of whoosh, tantivy"),
    ("[audit]\nworkers = true\n", "audit.workers 必须是整数（int） / must be int, not bool"),
    ("[formats]\ntimeout_seconds = false\n", "formats.timeout_seconds 必须是数（float） / must be float, not bool"),
    ("[audit]\ninterval_days = 1.5\n", "audit.interval_days 必须是整数（int） / must be int, not float"),
])
def test_bad_files_are_refused_with_a_clear_message(tmp_path: Path, text: str, needle: str) -> None:
    (tmp_path / "hsar.toml").write_text(text, "utf-8")
    with pytest.raises(ConfigError, match=None) as info:
        config.load(tmp_path, environ={})
    zh, en = needle.split(" / ")  # the message in each language (--lang)
    assert zh in info.value.render("zh") and en in info.value.render("en") == str(info.value)


def test_a_settings_file_not_in_utf8_is_refused_in_both_languages(tmp_path: Path) -> None:
    (tmp_path / "hsar.toml").write_bytes("[repository]\nname = \"档案库\"\n".encode("gb18030"))
    with pytest.raises(ConfigError) as info:
        config.load(tmp_path, environ={})
    assert "hsar.toml: 配置文件不是 UTF-8 编码" in info.value.render("zh")
    assert "hsar.toml: the settings file is not UTF-8: " in info.value.render("en")


def test_bad_environment_value(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="HSAR_LIMITS_MAX_RATIO"):
        config.load(tmp_path, environ={"HSAR_LIMITS_MAX_RATIO": "lots"})
    with pytest.raises(ConfigError, match="HSAR_FORMATS_BROKEN_SIGNATURE: formats.broken_signature must be one of"
                       ) as info:
        config.load(tmp_path, environ={"HSAR_FORMATS_BROKEN_SIGNATURE": "ignore"})
    assert info.value.render("zh").startswith("HSAR_FORMATS_BROKEN_SIGNATURE: formats.broken_signature 只能是 ")
    assert config.load(tmp_path, environ={"HSAR_AUDIT_HASHING": "threads"})["audit.hashing"] == "threads"


def test_home_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HSAR_HOME", str(tmp_path))
    assert config.resolve_home(None) == tmp_path
    monkeypatch.delenv("HSAR_HOME")
    assert config.resolve_home(None) == Path("hsar-data")


# ------------------------------------------------------------------------------------------ numeric bounds


def _refused(home: Path, text: str | None = None, environ: dict[str, str] | None = None) -> str:
    if text is not None:
        (home / "hsar.toml").write_text(text, "utf-8")
    with pytest.raises(ConfigError) as info:
        config.load(home, environ=environ or {})
    assert info.value.msgid and info.value.render("zh") != info.value.render("en")  # a text per language
    return info.value.render("zh") + "\n" + info.value.render("en")


@pytest.mark.parametrize(("section", "name", "value", "needle"), [
    ("audit", "interval_days", "0", "must be at least 1, not 0"),
    ("audit", "interval_days", "-7", "must be at least 1, not -7"),
    ("audit", "interval_days", "36501", "must be at most 36500"),
    ("audit", "interval_days", "10000000000", "must be at most 36500"),
    ("audit", "budget_bytes", "-5", "must be at least 0, not -5"),
    ("audit", "budget_seconds", "-1", "must be at least 0, not -1"),
    ("audit", "workers", "0", "must be at least 1, not 0"),
    ("audit", "workers", "-2", "must be at least 1, not -2"),
    ("audit", "processes", "0", "must be at least 1, not 0"),
    ("alerts", "smtp_port", "70000", "must be at most 65535, not 70000"),
    ("alerts", "smtp_port", "0", "must be at least 1, not 0"),
    ("limits", "max_unpacked_bytes", "0", "must be at least 1"),
    ("limits", "max_ratio", "-1", "must be at least 1"),
    ("limits", "max_members", "0", "must be at least 1"),
    ("formats", "max_read_bytes", "0", "must be at least 1"),
    ("formats", "max_read_bytes", "-1", "must be at least 1"),
    ("formats", "timeout_seconds", "0", "must be greater than 0, not 0.0"),
    ("formats", "timeout_seconds", "-1.5", "must be greater than 0, not -1.5"),
    ("formats", "timeout_seconds", "nan", "must be a finite number"),
    ("formats", "timeout_seconds", "inf", "must be a finite number"),
])
def test_numbers_out_of_bounds_are_refused_in_the_file_and_the_environment(
        tmp_path: Path, section: str, name: str, value: str, needle: str) -> None:
    key = f"{section}.{name}"
    message = _refused(tmp_path, f"[{section}]\n{name} = {value}\n")
    assert f"hsar.toml: {key} " in message and needle in message
    (tmp_path / "hsar.toml").unlink()
    message = _refused(tmp_path, environ={config.BY_KEY[key].env: value})
    assert message.startswith(f"{config.BY_KEY[key].env}: {key} ") and needle in message


def test_every_number_setting_has_bounds_and_the_edges_load(tmp_path: Path) -> None:
    numeric = [s for s in config.SETTINGS if s.type in (int, float)]
    assert numeric and all(s.minimum is not None or s.exclusive_minimum is not None for s in numeric)
    assert config.BY_KEY["alerts.smtp_port"].allowed == "1 … 65535"
    assert config.BY_KEY["formats.timeout_seconds"].allowed == "> 0"
    assert "allowed: ≥ 0" in config.render_toml()
    (tmp_path / "hsar.toml").write_text(
        "[audit]\ninterval_days = 1\nbudget_bytes = 0\nbudget_seconds = 0\nworkers = 1\nprocesses = 1\n"
        "[alerts]\nsmtp_port = 65535\n[formats]\ntimeout_seconds = 0.25\nmax_read_bytes = 1\n"
        "[limits]\nmax_ratio = 1\nmax_members = 1\nmax_unpacked_bytes = 1\n", "utf-8")
    cfg = config.load(tmp_path, environ={"HSAR_AUDIT_INTERVAL_DAYS": "36500", "HSAR_ALERTS_SMTP_PORT": "1"})
    assert (cfg["audit.interval_days"], cfg["alerts.smtp_port"], cfg["formats.timeout_seconds"]) == (36500, 1, 0.25)
    assert cfg["audit.workers"] == cfg["audit.processes"] == 1 and cfg["audit.budget_bytes"] == 0
    with pytest.raises(ConfigError, match="HSAR_AUDIT_WORKERS: audit.workers must be int") as info:
        config.load(tmp_path, environ={"HSAR_AUDIT_WORKERS": "true"})
    assert info.value.render("zh").startswith("HSAR_AUDIT_WORKERS: audit.workers 必须是整数（int），")


def test_list_items_must_be_strings(tmp_path: Path) -> None:
    message = _refused(tmp_path, "[alerts]\nmail_to = [\"a@example.org\", 3]\n")
    assert "alerts.mail_to" in message and "must be a list of strings" in message


# ------------------------------------------------------------------------------------------ storage roots


@pytest.mark.parametrize(("root", "replicas", "needle"), [
    ("storage", ["storage"], "is the same directory as storage.root"),
    ("storage", ["storage/"], "is the same directory as storage.root"),
    ("storage", ["./storage"], "is the same directory as storage.root"),
    ("storage", ["../home/storage"], "is the same directory as storage.root"),
    ("storage", ["{home}/storage"], "is the same directory as storage.root"),
    ("storage", ["link-to-storage"], "is the same directory as storage.root"),
    ("storage", ["r1", "r1"], "storage.replicas 'r1' is the same directory as storage.replicas 'r1'"),
    ("storage", ["r1", "./r1/"], "is the same directory as storage.replicas 'r1'"),
    ("storage", ["r1", "link-to-r1"], "is the same directory as storage.replicas 'r1'"),
    ("storage", ["storage/copy"], "storage.replicas 'storage/copy'"),
    ("storage", [""], "storage.root"),
    ("storage", ["."], "an OCFL storage root cannot contain another"),
    ("r1/primary", ["r1"], "storage.root"),
    ("storage", ["r1", "r1/inner"], "storage.replicas 'r1/inner'"),
])
def test_overlapping_storage_roots_are_refused(tmp_path: Path, root: str, replicas: list[str], needle: str) -> None:
    home = tmp_path / "home"
    for name in ("storage", "r1"):
        (home / name).mkdir(parents=True)
    (home / "link-to-storage").symlink_to(home / "storage", target_is_directory=True)
    (home / "link-to-r1").symlink_to("r1", target_is_directory=True)
    listed = ", ".join(f'"{r.format(home=home)}"' for r in replicas)
    message = _refused(home, f'[storage]\nroot = "{root}"\nreplicas = [{listed}]\n')
    assert "storage.replicas" in message and needle in message
    assert "同一目录" in message or "之内" in message


def test_overlap_through_the_environment_and_distinct_roots_load(tmp_path: Path) -> None:
    message = _refused(tmp_path, environ={"HSAR_STORAGE_REPLICAS": "r1,storage/"})
    assert message.startswith("HSAR_STORAGE_REPLICAS: storage.replicas 'storage/' 与 storage.root 是同一目录")
    assert "storage.replicas 'storage/' is the same directory as storage.root" in message
    (tmp_path / "hsar.toml").write_text('[storage]\nreplicas = ["storage2", "r/a", "r/b", "../elsewhere"]\n', "utf-8")
    cfg = config.load(tmp_path, environ={})
    assert cfg.paths("storage.replicas")[0] == (tmp_path / "storage2").resolve()  # a name prefix is not a parent


# ------------------------------------------------------------------------------------------ alerts.command


@pytest.mark.parametrize("command", ["'unterminated", 'notify "audit failed', "notify \\"])
def test_an_alert_command_that_cannot_be_split_is_refused(tmp_path: Path, command: str) -> None:
    quoted = command.replace("\\", "\\\\").replace('"', '\\"')
    message = _refused(tmp_path, f'[alerts]\ncommand = "{quoted}"\n')
    assert "hsar.toml: alerts.command" in message and repr(command) in message
    (tmp_path / "hsar.toml").unlink()
    assert _refused(tmp_path, environ={"HSAR_ALERTS_COMMAND": command}).startswith(
        "HSAR_ALERTS_COMMAND: alerts.command")


def test_empty_and_ordinary_alert_commands_load(tmp_path: Path) -> None:
    assert config.load(tmp_path, environ={"HSAR_ALERTS_COMMAND": ""})["alerts.command"] == ""
    (tmp_path / "hsar.toml").write_text("[alerts]\ncommand = \"notify --to 'ops team' \\\"x y\\\"\"\n", "utf-8")
    assert config.load(tmp_path, environ={})["alerts.command"] == "notify --to 'ops team' \"x y\""
    with pytest.raises(ConfigError, match="alerts.command"):  # and the environment is checked too
        config.load(tmp_path, environ={"HSAR_ALERTS_COMMAND": "'x"})


# ------------------------------------------------------------------------------------------ unreadable file


def test_a_directory_named_hsar_toml_is_refused(tmp_path: Path) -> None:
    (tmp_path / "hsar.toml").mkdir()
    message = _refused(tmp_path)
    assert "hsar.toml" in message and "cannot read the settings file" in message


def test_an_unreadable_hsar_toml_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toml = tmp_path / "hsar.toml"
    toml.write_text("[audit]\ninterval_days = 30\n", "utf-8")

    def denied(self: Path, *args: object, **kwargs: object) -> str:
        raise PermissionError(13, os.strerror(13), str(self))

    monkeypatch.setattr(Path, "read_text", denied)
    message = _refused(tmp_path)
    assert str(toml) in message and "无法读取" in message and os.strerror(13) in message


def test_a_dangling_hsar_toml_symlink_is_refused(tmp_path: Path) -> None:
    (tmp_path / "hsar.toml").symlink_to(tmp_path / "gone.toml")
    assert "cannot read the settings file" in _refused(tmp_path)


# ------------------------------------------------------------------------------------------ through the CLI


@pytest.mark.parametrize(("text", "needle"), [
    ("[audit]\ninterval_days = 0\n", "audit.interval_days"),
    ("[alerts]\nsmtp_port = 70000\n", "alerts.smtp_port"),
    ('[storage]\nreplicas = ["storage/"]\n', "storage.replicas"),
    ("[alerts]\ncommand = \"'unterminated\"\n", "alerts.command"),
    (None, "cannot read the settings file"),
])
def test_the_cli_reports_a_bad_configuration_as_a_config_error(tmp_path: Path, text: str | None,
                                                                 needle: str) -> None:
    home = tmp_path / "home"
    home.mkdir()
    if text is None:
        (home / "hsar.toml").mkdir()
    else:
        (home / "hsar.toml").write_text(text, "utf-8")
    result = CliRunner().invoke(cli, ["--home", str(home), "--lang", "en", "audit", "--all"])
    assert result.exit_code == 2, result.output
    assert "[CONFIG]" in result.output and needle in result.output  # the error in --lang
    assert "Traceback" not in result.output and "[INTERNAL]" not in result.output


@pytest.mark.parametrize("key", ["HSAR_AUDIT_PROCESSES", "HSAR_AUDIT_WORKERS"])
def test_worker_counts_have_a_ceiling(tmp_path, key):
    with pytest.raises(ConfigError, match="256"):
        config.load(tmp_path, environ={key: "5000"})
    assert config.load(tmp_path, environ={key: "256"})


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql://hsar:s3cr%40t@db.example:5432/hsar", "postgresql://hsar:***@db.example:5432/hsar"),
    ("redis://:s3cr%40t@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
    ("rediss://worker:s3cr%40t@redis/1?ssl_cert_reqs=required", "rediss://worker:***@redis/1?ssl_cert_reqs=required"),
    ("unix://:s3cr%40t@/run/redis.sock?db=2", "unix://:***@/run/redis.sock?db=2"),
    ("redis://redis/0?db=1&password=s3cr%40t#x", "redis://redis/0?db=1&password=***#x"),
    ("sqlite:////srv/hsar/catalog.sqlite", "sqlite:////srv/hsar/catalog.sqlite"),
    ("sqlite:///file:catalog.sqlite?mode=ro&uri=true", "sqlite:///file:catalog.sqlite?mode=ro&uri=true"),
    ("redis://h:notaport/0", "redis://h:notaport/0"),
    ("http://[::1", "<unparseable URL>"),
])
def test_a_url_is_shown_without_its_secrets(url: str, shown: str) -> None:
    assert safe_url(url) == shown


def test_a_refused_url_setting_never_echoes_its_password(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        config.load(tmp_path, environ={"HSAR_WEB_THROTTLE_URL": "memcached://u:s3cret@cache:11211?password=s3cret"})
    text = refused.value.render("zh") + refused.value.render("en")
    assert "s3cret" not in text and "memcached://u:***@cache:11211?password=***" in text


def test_a_setting_out_of_its_sections_block_still_renders_one_table_per_section(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``render_toml`` groups by section: a setting listed away from its section's block (here the first
    ``audit`` setting moved to the end) goes into that section's one table, never a second ``[audit]``
    header (invalid TOML); the file loads back to the defaults."""
    first = next(s for s in config.SETTINGS if s.key.startswith("audit."))
    listed = tomllib.loads(config.render_toml())
    monkeypatch.setattr(config, "SETTINGS", tuple(s for s in config.SETTINGS if s is not first) + (first,))
    text = config.render_toml()
    assert text.count("\n[audit]\n") == 1
    data = tomllib.loads(text)  # a duplicate table would raise here
    assert data == listed and list(data) == list(listed)  # the sections in their first order
    monkeypatch.undo()
    (tmp_path / "hsar.toml").write_text(text, "utf-8")
    assert config.load(tmp_path, environ={}).as_dict() == {s.key: s.default for s in config.SETTINGS}
