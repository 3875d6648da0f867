"""Settings: one declarative table (as Datasette does) feeding ``hsar.toml``, the environment, the CLI and docs.

A repository home (``--home`` / ``HSAR_HOME``, default ``./hsar-data``) holds ``hsar.toml``. Each setting is
``section.key`` in the TOML file and ``HSAR_SECTION_KEY`` in the environment (environment wins). Unknown keys
and wrongly typed values are rejected with a :class:`~repository.errors.ConfigError`.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigError

DEFAULT_HOME = "hsar-data"


@dataclass(frozen=True)
class Setting:
    key: str  # "section.name"
    type: type
    default: Any
    help_zh: str
    help_en: str
    choices: tuple[str, ...] = ()  # the only values a str setting may take (empty: any)

    @property
    def env(self) -> str:
        return "HSAR_" + self.key.replace(".", "_").upper()


SETTINGS: tuple[Setting, ...] = (
    Setting("repository.name", str, "住房保障档案库", "本库名称（审计报告与告警标题中）",
            "Name of this repository (in audit reports and alert subjects)"),
    Setting("repository.institution", str, "示范市住房保障中心", "保管机构名称", "Holding institution"),
    Setting("repository.contact", str, "", "保管机构联系地址（URI 或电子邮箱），记入每个 OCFL 版本的 user.address",
            "Holding institution's contact (URI or e-mail), the user address of every OCFL version"),
    Setting("repository.divisions", str, "", "行政区划树数据文件（JSON）；空则用内置示范市",
            "Division tree data file (JSON); empty means the bundled demo city"),
    Setting("limits.max_unpacked_bytes", int, 20 * 1024**3, "压缩包解压后总大小上限（字节）",
            "Largest total unpacked size of a zip/tar package (bytes)"),
    Setting("limits.max_ratio", int, 200, "压缩包最大压缩比（防压缩炸弹）", "Largest compression ratio (zip-bomb guard)"),
    Setting("limits.max_members", int, 100000, "压缩包最多成员数", "Most members in a zip/tar package"),
    Setting("catalog.url", str, "", "目录数据库 URL；空则用库目录下的 SQLite 文件 catalog.sqlite",
            "Catalogue database URL; empty means SQLite file catalog.sqlite in the home"),
    Setting("storage.root", str, "storage", "OCFL 存储根目录（相对库目录）", "OCFL storage root (relative to the home)"),
    Setting("storage.replicas", list, [], "副本 OCFL 存储根目录列表", "Replica OCFL storage roots"),
    Setting("signing.key", str, "keys/signer.key.pem", "签名私钥（PEM 或 PKCS#12）", "Signing key (PEM or PKCS#12)"),
    Setting("signing.cert", str, "keys/signer.cert.pem", "签名证书（PEM）", "Signing certificate (PEM)"),
    Setting("signing.chain", list, ["keys/ca.pem"], "签名证书链（PEM 文件列表）", "Certificate chain (PEM files)"),
    Setting("signing.passphrase_env", str, "", "存放私钥口令的环境变量名", "Environment variable holding the key passphrase"),
    Setting("signing.trust_roots", list, ["keys/ca.pem"], "信任根证书（PEM 文件列表）", "Trust roots (PEM files)"),
    Setting("formats.policy", str, "", "格式策略数据文件；空则用内置策略", "Format policy file; empty means the bundled policy"),
    Setting("formats.max_read_bytes", int, 131072, "格式识别时每个文件最多读取字节数",
            "Bytes read per file for format identification"),
    Setting("formats.timeout_seconds", float, 10.0, "每个文件格式识别的时间上限（秒）", "Time limit per file for identification"),
    Setting("formats.broken_signature", str, "warn", "内嵌签名损坏时：warn 或 refuse",
            "Broken embedded PDF signature: warn or refuse", ("warn", "refuse")),
    Setting("search.engine", str, "whoosh", "检索引擎：whoosh 或 tantivy", "Search engine: whoosh or tantivy",
            ("whoosh", "tantivy")),
    Setting("search.index", str, "index", "检索索引目录（相对库目录）", "Search index directory (relative to the home)"),
    Setting("audit.interval_days", int, 90, "每件档案至少每隔多少天检查一次", "Check every archive at least this often (days)"),
    Setting("audit.budget_bytes", int, 0, "每次 --due 审计最多读取字节数（0 为按间隔平均分配）",
            "Most bytes one --due run reads (0 spreads the interval evenly)"),
    Setting("audit.budget_seconds", int, 0, "每次 --due 审计最长时间（秒，0 不限）", "Longest --due run (seconds, 0 = none)"),
    Setting("audit.workers", int, 2, "并行哈希的线程或进程数（审计；接收时也用于包校验与格式识别）",
            "Threads or processes hashing in parallel (the audit; ingest also uses it to validate a bag and "
            "identify its formats)"),
    Setting("audit.hashing", str, "processes", "审计哈希方式：processes（独立进程，默认）或 threads（线程）",
            "How the audit hashes: processes (worker processes, the default) or threads", ("processes", "threads")),
    Setting("audit.processes", int, 2, "档案较多时分片并行审计的进程数（1 为单进程）",
            "Worker processes auditing shards of a large selection (1 = in-process)"),
    Setting("alerts.command", str, "", "审计失败时运行的命令", "Command run when an audit fails"),
    Setting("alerts.smtp_host", str, "", "告警邮件 SMTP 服务器", "SMTP host for alert mail"),
    Setting("alerts.smtp_port", int, 25, "SMTP 端口", "SMTP port"),
    Setting("alerts.mail_from", str, "", "告警发件人", "Alert sender"),
    Setting("alerts.mail_to", list, [], "告警收件人", "Alert recipients"),
    Setting("scheduler.audit", str, "0 2 * * *", "审计的 cron 计划", "Cron schedule of the audit"),
    Setting("scheduler.replicate", str, "30 1 * * *", "副本同步的 cron 计划", "Cron schedule of replication"),
)

BY_KEY = {s.key: s for s in SETTINGS}


class Config:
    """Typed settings of one repository home."""

    def __init__(self, home: Path, values: dict[str, Any]) -> None:
        self.home = home
        self._values = values

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def path(self, key: str) -> Path:
        """A path setting resolved against the home."""
        return (self.home / str(self._values[key])).resolve()

    def paths(self, key: str) -> list[Path]:
        return [(self.home / str(p)).resolve() for p in self._values[key]]

    @property
    def catalog_url(self) -> str:
        return self._values["catalog.url"] or f"sqlite:///{self.home.resolve() / 'catalog.sqlite'}"

    def as_dict(self) -> dict[str, Any]:
        return dict(self._values)


def _coerce(setting: Setting, value: Any, source: str) -> Any:
    if setting.type is list:
        if isinstance(value, str):
            value = [v for v in (p.strip() for p in value.split(",")) if v]
        if not isinstance(value, list):
            raise ConfigError(f"{source}: {setting.key} must be a list")
        return value
    if setting.type is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and setting.type is not str:
        try:
            return setting.type(value)
        except ValueError:
            raise ConfigError(f"{source}: {setting.key} must be {setting.type.__name__}") from None
    if not isinstance(value, setting.type) or isinstance(value, bool):
        raise ConfigError(f"{source}: {setting.key} must be {setting.type.__name__}, not {type(value).__name__}")
    if setting.choices and value not in setting.choices:
        raise ConfigError(f"{source}: {setting.key} must be one of {', '.join(setting.choices)}, not {value!r}")
    return value


def resolve_home(home: str | os.PathLike[str] | None) -> Path:
    return Path(home or os.environ.get("HSAR_HOME") or DEFAULT_HOME)


def load(home: str | os.PathLike[str] | None = None, environ: dict[str, str] | None = None) -> Config:
    """Read ``<home>/hsar.toml`` (optional) and ``HSAR_*`` environment overrides."""
    home_path = resolve_home(home)
    env = os.environ if environ is None else environ
    values = {s.key: s.default for s in SETTINGS}
    toml_file = home_path / "hsar.toml"
    if toml_file.is_file():
        try:
            data = tomllib.loads(toml_file.read_text("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{toml_file}: {exc}") from None
        for section, table in data.items():
            if not isinstance(table, dict):
                raise ConfigError(f"{toml_file}: unknown setting {section!r}")
            for name, value in table.items():
                key = f"{section}.{name}"
                if key not in BY_KEY:
                    raise ConfigError(f"{toml_file}: unknown setting {key!r}")
                values[key] = _coerce(BY_KEY[key], value, str(toml_file))
    for setting in SETTINGS:
        if setting.env in env:
            values[setting.key] = _coerce(setting, env[setting.env], setting.env)
    return Config(home_path, values)


def _toml_value(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return str(value).lower() if isinstance(value, bool) else str(value)


def render_toml() -> str:
    """A commented ``hsar.toml`` with every setting at its default (used by ``hsar init``)."""
    lines = ["# hsar.toml: settings of this repository home (住房保障档案库配置).",
             "# Every key can be overridden by the environment variable named beside it.", ""]
    section = None
    for s in SETTINGS:
        sec, name = s.key.split(".", 1)
        if sec != section:
            lines += ["", f"[{sec}]"]
            section = sec
        lines.append(f"# {s.help_zh} / {s.help_en} (env {s.env})")
        lines.append(f"{name} = {_toml_value(s.default)}")
    return "\n".join(lines) + "\n"


def settings_markdown() -> str:
    """The settings table of the README (a test keeps the README equal to this)."""
    rows = ["| setting | environment | default | meaning |", "| --- | --- | --- | --- |"]
    for s in SETTINGS:
        default = _toml_value(s.default).replace("|", "\\|")
        rows.append(f"| `{s.key}` | `{s.env}` | `{default}` | {s.help_zh} / {s.help_en} |")
    return "\n".join(rows) + "\n"
