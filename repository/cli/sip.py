"""``hsar sip validate``, ``hsar sip build`` and ``hsar demo-data``."""

from __future__ import annotations

from pathlib import Path

import click

from ..codes import Issue, Report
from ..messages import label
from .base import Context, cli, emit_json, emit_result, json_option, pass_ctx
from .exits import Exit


def render_issue(c: Context, i: Issue) -> str:
    where = f" {i.path}" if i.path else ""
    return f"[{i.code}] {label('severity', i.severity.value, c.lang)}{where}: {i.message_in(c.lang)}"


def render_report(c: Context, name: str, report: Report) -> None:
    for i in report.issues:
        click.echo(render_issue(c, i))
    errors, warnings = len(report.errors), len(report.warnings)
    if report.valid:
        click.echo(c.text("cli.sip.valid", name=name, warnings=warnings))
    else:
        click.echo(c.text("cli.sip.invalid", name=name, errors=errors, warnings=warnings))


@cli.group()
def sip() -> None:
    """提交信息包 Submission packages (SIPs): validate and build."""


@sip.command("validate")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="输出 JSON Print {valid, issues} as JSON.")
@click.option("--bagit-only", is_flag=True, help="只检查 RFC 8493 Check RFC 8493 only (bags made elsewhere).")
@pass_ctx
def validate_cmd(c: Context, path: Path, as_json: bool, bagit_only: bool) -> None:
    """校验提交包 Validate a SIP: a bag directory or a .zip/.tar/.tar.gz of one.

    Exit 0 valid (warnings allowed), 1 invalid, 2 unusable arguments.
    """
    from ..home import HomePaths
    from ..services.sips import validate

    cfg = c.cfg if HomePaths.of(c.home).settings.exists() else None
    report = validate(path, cfg=cfg, bagit_only=bagit_only)
    if as_json:
        emit_json(report.to_dict(c.lang))
    else:
        render_report(c, str(path), report)
    raise SystemExit(Exit.of(report.valid))


@sip.command("build")
@click.argument("documents", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("metadata", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--source-organization", default=None,
              help="提交单位 Source-Organization (default: repository.institution).")
@click.option("--algorithm", "algorithms", multiple=True, type=click.Choice(["sha512", "sha256"]),
              default=["sha512"], show_default=True, help="清单算法 Manifest algorithm (repeatable).")
@json_option()
@pass_ctx
def build_cmd(c: Context, documents: Path, metadata: Path, out: Path, source_organization: str | None,
              algorithms: tuple[str, ...], as_json: bool) -> None:
    """生成提交包 Build a profile-conformant SIP in OUT from a folder of DOCUMENTS and a METADATA file.

    METADATA is the descriptive XML, or a JSON or CSV export of a housing-security management system
    (formats in README).
    """
    from ..services.sips import build

    org = source_organization or c.cfg["repository.institution"]
    bag = build(documents, metadata, out, source_organization=org, algorithms=algorithms)
    if as_json:
        emit_result("sip-build", {"bag": str(bag), "algorithms": list(algorithms)})
        return
    click.echo(c.text("cli.sip.built", bag=bag))


@cli.command("demo-data")
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--households", default=10, show_default=True, type=click.IntRange(0, 100000), help="户档数 Households.")
@click.option("--units", default=5, show_default=True, type=click.IntRange(0, 100000), help="房档数 Housing units.")
@click.option("--seed", default=1, show_default=True, type=int, help="随机种子 Seed (same seed, same bytes).")
@click.option("--defects", is_flag=True, help="另生成每类缺陷一个无效包 Also write one invalid SIP per defect class.")
@json_option()
@pass_ctx
def demo_data(c: Context, out: Path, households: int, units: int, seed: int, defects: bool, as_json: bool) -> None:
    """生成演示提交包 Write realistic, deterministic demo SIPs into OUT (names sort in ingest order).

    Needs the optional `demo` extra (reportlab): pip install 'hsar[demo]'."""
    from ..services.sips import demo_data as write

    written = write(out, households=households, units=units, seed=seed, defects=defects)
    if as_json:
        emit_result("demo-data", {"out": str(out), "sips": [str(p) for p in written.sips]})
        return
    click.echo(c.text("cli.demo.written", count=len(written.sips), out=out))
