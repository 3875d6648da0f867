"""Settings: one declarative table (as Datasette does) feeding ``hsar.toml``, the environment, the CLI and docs.

A repository home (``--home`` / ``HSAR_HOME``, default ``./hsar-data``) holds ``hsar.toml``. Each setting is
``section.key`` in the TOML file and ``HSAR_SECTION_KEY`` in the environment (environment wins). Unknown keys
and wrongly typed values are rejected with a :class:`~repository.errors.ConfigError`, and so are numbers
outside a setting's bounds, storage roots that overlap and an alert command that cannot be split into words.
"""

from __future__ import annotations

import math
import os
import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .messages import Label
from .safeurl import safe_url

DEFAULT_HOME = "hsar-data"


@dataclass(frozen=True)
class Setting:
    key: str  # "section.name"
    type: type
    default: Any
    help_zh: str
    help_en: str
    choices: tuple[str, ...] = ()  # the only values a str setting may take (empty: any)
    minimum: float | None = None  # smallest value an int/float setting may take (None: no bound)
    maximum: float | None = None  # largest value an int/float setting may take (None: no bound)
    exclusive_minimum: float | None = None  # an int/float setting must be greater than this (None: no bound)

    @property
    def env(self) -> str:
        return "HSAR_" + self.key.replace(".", "_").upper()

    @property
    def allowed(self) -> str:
        """The values this setting may take, for people ("1 … 65535", "≥ 0", "warn, refuse"; empty: any)."""
        if self.choices:
            return ", ".join(self.choices)
        if self.minimum is not None and self.maximum is not None and self.exclusive_minimum is None:
            return f"{_number(self.minimum)} … {_number(self.maximum)}"
        parts = [f"> {_number(self.exclusive_minimum)}" if self.exclusive_minimum is not None else "",
                 f"≥ {_number(self.minimum)}" if self.minimum is not None else "",
                 f"≤ {_number(self.maximum)}" if self.maximum is not None else ""]
        return ", ".join(p for p in parts if p)


def _number(value: float) -> str:
    """A bound as people write it: ``1``, not ``1.0``."""
    return str(int(value)) if float(value).is_integer() else str(value)


SETTINGS: tuple[Setting, ...] = (
    Setting("repository.name", str, "住房保障档案库", "本库名称（审计报告与告警标题中）",
            "Name of this repository (in audit reports and alert subjects)"),
    Setting("repository.language", str, "both", "审计报告与告警邮件的语言：zh、en 或 both（先中文，后英文）",
            "Language of audit reports and alert mail: zh, en or both (Chinese, then English)",
            choices=("zh", "en", "both")),
    Setting("repository.institution", str, "示范市住房保障中心", "保管机构名称", "Holding institution"),
    Setting("repository.contact", str, "", "保管机构联系地址（URI 或电子邮箱），记入每个 OCFL 版本的 user.address",
            "Holding institution's contact (URI or e-mail), the user address of every OCFL version"),
    Setting("repository.divisions", str, "", "行政区划树数据文件（JSON）；空则用内置示范市",
            "Division tree data file (JSON); empty means the bundled demo city"),
    Setting("limits.max_unpacked_bytes", int, 20 * 1024**3, "压缩包解压后总大小上限（字节）",
            "Largest total unpacked size of a zip/tar package (bytes)", minimum=1),
    Setting("limits.max_ratio", int, 200, "压缩包最大压缩比（防压缩炸弹）", "Largest compression ratio (zip-bomb guard)",
            minimum=1),
    Setting("limits.max_members", int, 100000, "压缩包最多成员数", "Most members in a zip/tar package", minimum=1),
    Setting("catalog.url", str, "", "目录数据库 URL；空则用库目录下的 SQLite 文件 catalog.sqlite",
            "Catalogue database URL; empty means SQLite file catalog.sqlite in the home"),
    Setting("state.url", str, "", "状态数据库 URL（账户、令牌、作业、利用登记；不是缓存）；空则用库目录下的 SQLite 文件 state.sqlite",
            "State database URL (accounts, tokens, jobs, the access register; not a cache); empty means SQLite "
            "file state.sqlite in the home"),
    Setting("storage.root", str, "storage", "OCFL 存储根目录（相对库目录）", "OCFL storage root (relative to the home)"),
    Setting("storage.replicas", list, [], "副本 OCFL 存储根目录列表", "Replica OCFL storage roots"),
    Setting("signing.key", str, "keys/signer.key.pem", "签名私钥（PEM 或 PKCS#12）", "Signing key (PEM or PKCS#12)"),
    Setting("signing.cert", str, "keys/signer.cert.pem", "签名证书（PEM）", "Signing certificate (PEM)"),
    Setting("signing.chain", list, ["keys/ca.pem"], "签名证书链（PEM 文件列表）", "Certificate chain (PEM files)"),
    Setting("signing.passphrase_env", str, "", "存放私钥口令的环境变量名", "Environment variable holding the key passphrase"),
    Setting("signing.trust_roots", list, ["keys/ca.pem"], "信任根证书（PEM 文件列表）", "Trust roots (PEM files)"),
    Setting("signing.pkcs11_module", str, "", "PKCS#11 模块路径（设置后用令牌中的私钥签名，不用 signing.key）",
            "PKCS#11 module path (when set, sign with a key held in a token instead of signing.key)"),
    Setting("signing.pkcs11_token", str, "", "PKCS#11 令牌标签", "PKCS#11 token label"),
    Setting("signing.pkcs11_key", str, "", "令牌中私钥的标签", "Label of the private key in the token"),
    Setting("signing.pkcs11_pin_env", str, "", "存放令牌用户 PIN 的环境变量名", "Environment variable holding the token's user PIN"),
    Setting("signing.pkcs11_pin_file", str, "", "存放令牌用户 PIN 的文件（第一行；相对库目录）",
            "File holding the token's user PIN (first line; relative to the home)"),
    Setting("transfer.untrusted", str, "refuse", "移交包的版本签名不能追溯到本库信任根（外单位或不受信任的 CA）时：refuse（拒收）或 flag（接收并标记）",
            "A transfer package whose version signatures do not chain to this repository's trust roots (a foreign "
            "or untrusted CA): refuse it, or flag it and receive it", ("refuse", "flag")),
    Setting("transfer.keep_exports_days", int, 14,
            "网页导出作业与利用副本作业的输出（exports/<作业>/）在作业结束后保留的天数；0 为永久保留",
            "Days the outputs of the web's export and access-copy jobs (exports/<job>/) are kept after the job "
            "ended; 0 keeps them", minimum=0, maximum=36500),
    Setting("formats.policy", str, "", "格式策略数据文件；空则用内置策略", "Format policy file; empty means the bundled policy"),
    Setting("formats.max_read_bytes", int, 131072, "格式识别时每个文件最多读取字节数",
            "Bytes read per file for format identification", minimum=1),
    Setting("formats.timeout_seconds", float, 10.0, "每个文件格式识别的时间上限（秒）", "Time limit per file for identification",
            exclusive_minimum=0),
    Setting("formats.broken_signature", str, "warn", "内嵌签名损坏时：warn 或 refuse",
            "Broken embedded PDF signature: warn or refuse", ("warn", "refuse")),
    Setting("search.engine", str, "tantivy", "检索引擎：tantivy（默认）或 whoosh（纯 Python，适合小库）",
            "Search engine: tantivy (default) or whoosh (pure Python, for small repositories)",
            ("whoosh", "tantivy")),
    Setting("search.index", str, "index", "检索索引目录（相对库目录）", "Search index directory (relative to the home)"),
    Setting("search.result_cache", int, 256, "每个进程缓存的检索答案数（Tantivy；0 为不缓存）",
            "Search answers kept per process (Tantivy; 0 = none)", minimum=0),
    Setting("audit.interval_days", int, 90, "每件档案至少每隔多少天检查一次", "Check every archive at least this often (days)",
            minimum=1, maximum=36500),
    Setting("audit.budget_bytes", int, 0, "每次 --due 审计最多读取字节数（0 为按间隔平均分配）",
            "Most bytes one --due run reads (0 spreads the interval evenly)", minimum=0),
    Setting("audit.budget_seconds", int, 0, "每次 --due 审计最长时间（秒，0 不限）", "Longest --due run (seconds, 0 = none)",
            minimum=0),
    Setting("audit.workers", int, 2, "并行哈希的线程或进程数（审计；接收时也用于包校验与格式识别）",
            "Threads or processes hashing in parallel (the audit; ingest also uses it to validate a bag and "
            "identify its formats)", minimum=1, maximum=256),
    Setting("audit.hashing", str, "processes", "审计哈希方式：processes（独立进程，默认）或 threads（线程）",
            "How the audit hashes: processes (worker processes, the default) or threads", ("processes", "threads")),
    Setting("audit.processes", int, 2, "档案较多时分片并行审计的进程数（1 为单进程）",
            "Worker processes auditing shards of a large selection (1 = in-process)", minimum=1, maximum=256),
    Setting("audit.max_inventory_bytes", int, 256 << 20, "审计解析的 inventory.json 最大字节数，超出则拒绝解析（AUD040）",
            "Largest inventory.json the audit parses; a larger one is refused (AUD040)", minimum=1024),
    Setting("alerts.command", str, "", "审计发现问题或账户被锁定时运行的命令", "Command run when an audit finds problems or an account is locked"),
    Setting("alerts.smtp_host", str, "", "告警邮件 SMTP 服务器", "SMTP host for alert mail"),
    Setting("alerts.smtp_port", int, 25, "SMTP 端口", "SMTP port", minimum=1, maximum=65535),
    Setting("alerts.mail_from", str, "", "告警发件人", "Alert sender"),
    Setting("alerts.mail_to", list, [], "告警收件人", "Alert recipients"),
    Setting("scheduler.audit", str, "0 2 * * *", "审计的 cron 计划", "Cron schedule of the audit"),
    Setting("scheduler.replicate", str, "30 1 * * *", "副本同步的 cron 计划", "Cron schedule of replication"),
    Setting("scheduler.paper", str, "0 3 * * *", "双轨制核对的 cron 计划（保存的结果过期时才重新核对）",
            "Cron schedule of the dual-track reconciliation (made again only when the stored result is out of "
            "date)"),
    Setting("jobs.url", str, "", "后台作业队列的 Redis URL（如 redis://127.0.0.1:6379/0）；空则用库目录下的 SQLite 队列 "
            "jobs/queue.sqlite", "Redis URL of the background-job queue (e.g. redis://127.0.0.1:6379/0); empty means "
            "the SQLite queue jobs/queue.sqlite in the home"),
    Setting("jobs.attempts", int, 3, "作业执行进程中断后最多尝试次数（含第一次）",
            "Most attempts at a job whose worker died (the first included)", minimum=1, maximum=100),
    Setting("web.throttle_url", str, "", "登录限流计数的存储 URL（如 redis://127.0.0.1:6379/1：各网页服务进程、各台机器共用一个计数；"
            "Redis 不可用时退回各进程内存）；空则每个进程在内存中各自计数",
            "Where the login throttle counts (e.g. redis://127.0.0.1:6379/1: every hsar serve process, on every "
            "machine, shares one count; each process's memory while Redis is unreachable); empty means each process "
            "counts in its own memory"),
    Setting("web.login_attempts", int, 10, "每个客户端地址每分钟可提交登录表单的次数（不论对错；经 --proxy 时按真实客户端地址计）",
            "Sign-in attempts one client address may make a minute, right or wrong (the real client's address "
            "behind --proxy)", minimum=1, maximum=10000),
    Setting("web.login_failures", int, 5, "同一账户名在锁定时长内登录失败达到此次数即锁定（任何地址、任何服务进程合计）",
            "Failed sign-ins of one account name within the lock time that lock it (from every address and server "
            "process together)", minimum=1, maximum=1000),
    Setting("web.login_lock_minutes", int, 30, "登录失败的计数窗口与账户锁定时长（分钟）；管理员可提前解锁",
            "Minutes failed sign-ins are counted over, and an account name stays locked; an administrator may "
            "unlock it sooner", minimum=1, maximum=10080),
    Setting("web.research_inline_pages", int, 40, "利用件在请求中制作的最多页数；更长或页数未知的 PDF 由后台作业制作", "Most pages of a researcher's copy made in the request; longer PDFs (or of unknown length) by a job", minimum=0, maximum=1000),
    Setting("web.research_inline_scan_pages", int, 8, "审核通过的扫描件利用件在请求中制作的最多页数；更长的由后台作业制作", "Most pages of an approved scan's researcher's copy painted in the request; longer scans by a job", minimum=0, maximum=1000),
    Setting("cache.research_max_mb", int, 2048, "利用件缓存（cache/research/）的上限（MiB）；超出时删除最久未用的文件，直到不超过上限的 90%；0 为不设上限", "Bound of the researchers' copy cache (cache/research/, MiB): above it the least recently used files are removed until it holds at most 90% of it; 0 sets no bound", minimum=0, maximum=10**8),
    Setting("ocr.after_ingest", bool, False, "入库作业成功后自动排入 OCR 作业（扫描页文字识别）",
            "Queue an OCR job (text of scanned pages) after every successful ingest job"),
    Setting("ocr.workers", int, 2, "同时运行的 tesseract 进程数（每个进程一个线程）",
            "tesseract processes run at once (one thread each)", minimum=1, maximum=64),
    Setting("ocr.language", str, "chi_sim", "Tesseract 识别模型（语言），如 chi_sim 或 chi_sim+eng",
            "Tesseract model (language), e.g. chi_sim or chi_sim+eng"),
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

    @property
    def state_url(self) -> str:
        """The state database's URL; the home's own SQLite file is opened read-only (an immutable URI
        filename: no lock, no WAL index) when the home cannot be written, so reading it works there."""
        if self._values["state.url"]:
            return str(self._values["state.url"])
        file = self.home.resolve() / "state.sqlite"
        if file.is_file() and home_read_only(self.home):
            return read_only_sqlite_url(file)
        return f"sqlite:///{file}"

    def as_dict(self) -> dict[str, Any]:
        return dict(self._values)


def home_read_only(home: Path) -> bool:
    """Whether ``home`` cannot be written: on a read-only file system, or without write permission for us."""
    try:
        if os.statvfs(home).f_flag & os.ST_RDONLY:
            return True
    except OSError:
        return False
    return not os.access(home, os.W_OK)


def read_only_sqlite_url(file: Path) -> str:
    """A SQLAlchemy URL opening the SQLite ``file`` read-only and immutable (a URI filename)."""
    from urllib.parse import quote

    return f"sqlite:///file:{quote(str(file.resolve()))}?mode=ro&immutable=1&uri=true"


def _coerce(setting: Setting, value: Any, source: str) -> Any:
    if setting.type is list:
        if isinstance(value, str):
            value = [v for v in (p.strip() for p in value.split(",")) if v]
        if not isinstance(value, list):
            raise ConfigError(msgid="config.not_a_list", source=source, key=setting.key, got=type(value).__name__)
        if not all(isinstance(v, str) for v in value):
            raise ConfigError(msgid="config.not_strings", source=source, key=setting.key, got=repr(value))
        return value
    if setting.type is float and isinstance(value, int) and not isinstance(value, bool):
        try:
            value = float(value)
        except OverflowError:
            raise ConfigError(msgid="config.not_finite", source=source, key=setting.key, got=repr(value)) from None
    elif setting.type is bool:
        value = _boolean(setting, value, source)
    elif isinstance(value, str) and setting.type is not str:
        try:
            value = setting.type(value)
        except ValueError:
            raise ConfigError(msgid="config.wrong_type", source=source, key=setting.key,
                              type=Label("type", setting.type.__name__), got=repr(value)) from None
    if not isinstance(value, setting.type) or (isinstance(value, bool) and setting.type is not bool):
        raise ConfigError(msgid="config.wrong_type", source=source, key=setting.key,
                          type=Label("type", setting.type.__name__), got=type(value).__name__)
    if setting.choices and value not in setting.choices:
        raise ConfigError(msgid="config.not_a_choice", source=source, key=setting.key, got=repr(value),
                          choices=", ".join(setting.choices))
    if setting.type in (int, float) and isinstance(value, int | float):
        _check_bounds(setting, value, source)
    return value


def _boolean(setting: Setting, value: Any, source: str) -> Any:  # noqa: ANN401 - TOML or environment value
    """true/false (TOML), or true/false/1/0/yes/no/on/off (environment)."""
    if isinstance(value, str):
        words = {"true": True, "1": True, "yes": True, "on": True, "false": False, "0": False, "no": False, "off": False}
        if value.strip().lower() not in words:
            raise ConfigError(msgid="config.wrong_type", source=source, key=setting.key,
                              type=Label("type", "bool"), got=repr(value))
        return words[value.strip().lower()]
    return value


def _check_bounds(setting: Setting, value: float, source: str) -> None:
    key = setting.key
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(msgid="config.not_finite", source=source, key=key, got=repr(value))
    if setting.exclusive_minimum is not None and not value > setting.exclusive_minimum:
        bound = _number(setting.exclusive_minimum)
        raise ConfigError(msgid="config.not_above", source=source, key=key, bound=bound, got=repr(value))
    if setting.minimum is not None and value < setting.minimum:
        bound = _number(setting.minimum)
        raise ConfigError(msgid="config.below_minimum", source=source, key=key, bound=bound, got=repr(value))
    if setting.maximum is not None and value > setting.maximum:
        bound = _number(setting.maximum)
        raise ConfigError(msgid="config.above_maximum", source=source, key=key, bound=bound, got=repr(value))


def _check_alert_command(command: str, source: str) -> None:
    """``alerts.command`` is split like a shell would (:func:`shlex.split`) when an alert is sent: refuse now
    what could not be split then. An empty command means no command."""
    try:
        shlex.split(command)
    except ValueError as exc:
        raise ConfigError(msgid="config.alert_command_unsplittable", source=source, detail=str(exc),
                          command=repr(command)) from None


#: the stores ``web.throttle_url`` may name (Flask-Limiter's storages this project installs: memory and Redis)
THROTTLE_SCHEMES = ("memory", "redis", "rediss")


def _check_throttle_url(url: str, source: str) -> None:
    """``web.throttle_url`` is empty, ``memory://`` or a Redis URL: refuse now what the web application could
    not count in (its first sign-in would fail otherwise)."""
    if url and url.partition("://")[0].lower() not in THROTTLE_SCHEMES:
        raise ConfigError(msgid="config.throttle_url", source=source, got=repr(safe_url(url)),
                          schemes=", ".join(f"{s}://" for s in THROTTLE_SCHEMES))


def _check_storage_roots(home: Path, values: dict[str, Any], sources: dict[str, str]) -> None:
    """The primary storage root and every replica must be distinct directories, none inside another: a copy
    that is the primary (or another replica) under a second name is no copy, and one OCFL storage root
    cannot contain another. Paths are compared resolved (symlinks followed, ``./x`` and ``x/`` alike)."""
    source = sources.get("storage.replicas", "storage.replicas")  # a clash always involves a replica
    roots: list[tuple[str, Path]] = []
    for label, raw in [("storage.root", values["storage.root"])] + [
            (f"storage.replicas {raw!r}", raw) for raw in values["storage.replicas"]]:
        try:
            roots.append((label, (home / str(raw)).resolve()))
        except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop
            raise ConfigError(msgid="config.root_unresolvable", source=source, name=label, detail=str(exc)) from None
    for i, (name_a, path_a) in enumerate(roots):
        for name_b, path_b in roots[i + 1:]:
            if path_a == path_b:
                raise ConfigError(msgid="config.roots_same", source=source, name_a=name_a, name_b=name_b,
                                  path=str(path_b))
            for (inner, inner_path), (outer, outer_path) in (((name_b, path_b), (name_a, path_a)),
                                                               ((name_a, path_a), (name_b, path_b))):
                if outer_path in inner_path.parents:
                    raise ConfigError(msgid="config.root_inside", source=source, inner=inner, outer=outer,
                                      inner_path=str(inner_path), outer_path=str(outer_path))


def resolve_home(home: str | os.PathLike[str] | None) -> Path:
    return Path(home or os.environ.get("HSAR_HOME") or DEFAULT_HOME)


def load(home: str | os.PathLike[str] | None = None, environ: dict[str, str] | None = None) -> Config:
    """Read ``<home>/hsar.toml`` (optional) and ``HSAR_*`` environment overrides."""
    home_path = resolve_home(home)
    env = os.environ if environ is None else environ
    values = {s.key: s.default for s in SETTINGS}
    sources: dict[str, str] = {}
    toml_file = home_path / "hsar.toml"
    if toml_file.exists() or toml_file.is_symlink():
        try:
            text = toml_file.read_text("utf-8")
        except OSError as exc:  # permission denied, a directory, a dangling symlink
            raise ConfigError(msgid="config.unreadable", file=str(toml_file), detail=str(exc.strerror or exc)) from None
        except UnicodeDecodeError as exc:
            raise ConfigError(msgid="config.not_utf8", file=str(toml_file), detail=str(exc)) from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(msgid="config.not_toml", file=str(toml_file), detail=str(exc)) from None
        for section, table in data.items():
            if not isinstance(table, dict):
                raise ConfigError(msgid="config.unknown_setting", file=str(toml_file), key=repr(section))
            for name, value in table.items():
                key = f"{section}.{name}"
                if key not in BY_KEY:
                    raise ConfigError(msgid="config.unknown_setting", file=str(toml_file), key=repr(key))
                values[key] = _coerce(BY_KEY[key], value, str(toml_file))
                sources[key] = str(toml_file)
    for setting in SETTINGS:
        if setting.env in env:
            values[setting.key] = _coerce(setting, env[setting.env], setting.env)
            sources[setting.key] = setting.env
    _check_alert_command(str(values["alerts.command"]), sources.get("alerts.command", "alerts.command"))
    _check_throttle_url(str(values["web.throttle_url"]), sources.get("web.throttle_url", "web.throttle_url"))
    _check_storage_roots(home_path, values, sources)
    return Config(home_path, values)


def _toml_value(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return str(value).lower() if isinstance(value, bool) else str(value)


def render_toml() -> str:
    """A commented ``hsar.toml`` with every setting at its default (used by ``hsar init``): one table per section in
    the order sections first appear (a setting out of its section's block still goes in it: never a table twice)."""
    lines = ["# hsar.toml: settings of this repository home (住房保障档案库配置).", "# Every key can be overridden by the environment variable named beside it.", ""]
    for sec in dict.fromkeys(s.key.split(".", 1)[0] for s in SETTINGS):  # sections, in first-appearance order
        lines += ["", f"[{sec}]"]
        for s in (s for s in SETTINGS if s.key.startswith(sec + ".")):
            allowed = f", allowed: {s.allowed}" if s.allowed else ""
            lines += [f"# {s.help_zh} / {s.help_en} (env {s.env}{allowed})",
                      f"{s.key.split('.', 1)[1]} = {_toml_value(s.default)}"]
    return "\n".join(lines) + "\n"


def settings_markdown() -> str:
    """The settings table of the README (a test keeps the README equal to this)."""
    rows = ["| setting | environment | default | allowed | meaning |", "| --- | --- | --- | --- | --- |"]
    for s in SETTINGS:
        default = _toml_value(s.default).replace("|", "\\|")
        rows.append(f"| `{s.key}` | `{s.env}` | `{default}` | {s.allowed} | {s.help_zh} / {s.help_en} |")
    return "\n".join(rows) + "\n"
