"""Fixtures for transfer (移交) tests: demo SIPs, a sending home with them ingested, receiving homes.

Every home made by ``init_home`` has its own demo PKI, so a home initialised separately is another
institution with a foreign CA; ``trusting`` adds the sender's CA to a home's ``signing.trust_roots``.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from repository.home import Repository, init_home


@dataclass(frozen=True)
class Demo:
    root: Path
    entries: list[dict[str, Any]]

    def sips(self) -> list[Path]:
        return [self.root / e["path"] for e in self.entries if e["kind"] != "defect"]


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    from repository.demo.generate import write_demo_data

    root = tmp_path_factory.mktemp("trf-demo") / "sips"
    write_demo_data(root, households=3, units=2, seed=7, defects=False)
    return Demo(root, json.loads((root / "demo_manifest.json").read_text("utf-8"))["sips"])


@pytest.fixture(scope="session")
def sender_template(demo: Demo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home holding every demo SIP (a household with v1 … v4, a unit with a supplement, relations)."""
    from repository.ingest.pipeline import ingest

    home = tmp_path_factory.mktemp("trf-sender") / "home"
    init_home(home)
    with Repository.open(home) as repo:
        outcomes = ingest(repo, demo.sips())
    assert {o.status for o in outcomes} == {"ingested"}, [o.to_dict("en") for o in outcomes]
    return home


@pytest.fixture(scope="session")
def receiver_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("trf-receiver") / "home"
    init_home(home)
    return home


@pytest.fixture
def sender(sender_template: Path, tmp_path: Path) -> Path:
    return shutil.copytree(sender_template, tmp_path / "sender", symlinks=True)


@pytest.fixture
def receiver(receiver_template: Path, tmp_path: Path) -> Path:
    """Another institution: its own CA, not trusting the sender's (see :func:`trusting`)."""
    return shutil.copytree(receiver_template, tmp_path / "receiver", symlinks=True)


def set_setting(home: Path, section: str, key: str, value: str) -> None:
    """Replace ``key = …`` in ``[section]`` of the home's hsar.toml (value given as TOML)."""
    lines = (home / "hsar.toml").read_text("utf-8").splitlines()
    current = None
    for n, line in enumerate(lines):
        if line.startswith("["):
            current = line.strip("[] ")
        elif current == section and line.split("=")[0].strip() == key:
            lines[n] = f"{key} = {value}"
            break
    else:
        raise AssertionError(f"{section}.{key} not in hsar.toml")
    (home / "hsar.toml").write_text("\n".join(lines) + "\n", "utf-8")


def trusting(receiver: Path, sender: Path) -> Path:
    """The receiver trusts its own CA and the sender's."""
    set_setting(receiver, "signing", "trust_roots",
                json.dumps(["keys/ca.pem", str(sender / "keys" / "ca.pem")]))
    return receiver


@pytest.fixture(scope="session")
def tr() -> Any:  # noqa: ANN401 - this module, for the helpers above
    import sys

    return sys.modules[__name__]
