"""The fixtures of tests/preservation/conftest.py (demo SIPs, homes, signers), for the tests of repository/audit that
moved out of tests/preservation/ with their code. Loaded from that file under a name of its own: conftest modules cannot
be imported by name under --import-mode=importlib."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_NAME = "hsar_preservation_fixtures_for_audit"
_spec = importlib.util.spec_from_file_location(_NAME, Path(__file__).parents[1] / "preservation" / "conftest.py")
assert _spec is not None and _spec.loader is not None
_fixtures = importlib.util.module_from_spec(_spec)
sys.modules[_NAME] = _fixtures
_spec.loader.exec_module(_fixtures)
globals().update({name: value for name, value in vars(_fixtures).items() if not name.startswith("__")})
