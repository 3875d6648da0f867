"""Independent OCFL 1.1 validation with ocfl-py (https://github.com/zimeon/ocfl-py), for tests and audit.

ocfl-py is an optional dependency (the ``test`` extra); it is imported only when
:func:`validate_with_ocfl_py` runs. Two gaps of ocfl-py 2.1 are bridged here:

* it has no handler for storage layout extension 0004, so a root declaring it (a home made before hsar moved
  to extension 0003, which ocfl-py reads itself) fails with E071; for such a root a handler built on
  :class:`~repository.preservation.ocfl_layout.HashedNTupleLayout` is registered in ocfl-py's layout
  registry, and the storage root validator is told that 0004 is a registered extension (else W901);
* it checks an object's content (extra files, E023) only when given the object directory, so the storage root
  is validated for its structure (§4, E069-E088) and then every object directory on its own (§3).

Each object is also checked to sit where the layout maps its id (§4.3, E083).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from repository.errors import PreservationError
from repository.preservation.ocfl_layout import (
    LAYOUT_0004,
    LAYOUT_0004_DESCRIPTION,
    OBJECT_DECLARATION,
    HashedNTupleLayout,
    is_storage_root,
    read_storage_root,
)


def _import_ocfl_quietly() -> None:
    """Import ocfl-py, undoing the ``logging.basicConfig(level=INFO)`` its dependency pairtree runs."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        import ocfl  # noqa: F401
    except ImportError as exc:
        raise PreservationError(
            "ocfl-py is not installed (pip install 'hsar[test]')", "OCFL-VALIDATOR"
        ) from exc
    finally:
        for handler in [h for h in root.handlers if h not in handlers]:
            root.removeHandler(handler)
        root.setLevel(level)


def _register_layout_0004() -> None:
    from ocfl.layout import Layout, LayoutException
    from ocfl.layout_registry import add_layout, layout_is_supported

    if layout_is_supported(LAYOUT_0004):
        return

    class Layout0004(Layout):
        def __init__(self) -> None:
            super().__init__()
            self.NAME = LAYOUT_0004
            self.DESCRIPTION = LAYOUT_0004_DESCRIPTION
            self.PARAMS: dict[str, object] = {}
            self.params = HashedNTupleLayout()

        def check_and_set_layout_params(self, config: dict, require_extension_name: bool = True) -> None:
            if require_extension_name and "extensionName" not in config:
                raise LayoutException("Storage root extension config missing extensionName")
            try:
                self.params = HashedNTupleLayout.from_config(config)
            except PreservationError as exc:
                raise LayoutException(str(exc)) from exc

        @property
        def config(self) -> dict:
            return self.params.config()

        def identifier_to_path(self, identifier: str) -> str:
            return self.params.object_path(identifier)

    add_layout(LAYOUT_0004, Layout0004)


def _object_dirs(root: Path) -> list[Path]:
    found = []
    for dirpath, dirs, files in os.walk(root):
        if Path(dirpath) == root:
            dirs[:] = [d for d in dirs if d != "extensions"]
        if OBJECT_DECLARATION in files:
            found.append(Path(dirpath))
            dirs[:] = []
    return sorted(found)


def _validate_object(path: Path, warnings: bool, label: str) -> list[str]:
    from ocfl.validator import Validator

    validator = Validator(log_warnings=warnings, check_digests=True)
    validator.validate_object(str(path))
    return [f"{label}: {message}" for message in validator.log.messages]


def _validate_root(root: Path, warnings: bool) -> list[str]:
    from ocfl.storage_root import StorageRoot

    layout = read_storage_root(root)
    storage_root = StorageRoot(str(root))
    if layout.name == LAYOUT_0004:
        _register_layout_0004()
        storage_root.registered_extensions = [*storage_root.registered_extensions, LAYOUT_0004]
    storage_root.validate(validate_objects=False, log_warnings=warnings)
    messages = [f"storage root: {message}" for message in storage_root.log.messages]
    for object_dir in _object_dirs(root):
        relative = object_dir.relative_to(root).as_posix()
        messages += _validate_object(object_dir, warnings, relative)
        try:
            object_id = json.loads((object_dir / "inventory.json").read_text("utf-8"))["id"]
        except (OSError, ValueError, KeyError, TypeError, RecursionError):
            continue  # already reported by the object validation
        if layout.object_path(object_id) != relative:
            messages.append(
                f"{relative}: object {object_id} is not where layout {layout.name} puts it (E083)"
            )
    return messages


def validate_with_ocfl_py(path: Path, *, warnings: bool = False) -> list[str]:
    """ocfl-py's errors (and warnings, if asked) for a storage root and all its objects, or for one object.

    An empty list means valid. Raises PreservationError when ocfl-py is not installed or ``path`` is neither.
    """
    path = Path(path)
    _import_ocfl_quietly()
    if is_storage_root(path):
        return _validate_root(path, warnings)
    if (path / OBJECT_DECLARATION).is_file():
        return _validate_object(path, warnings, path.name)
    raise PreservationError(f"{path} is neither an OCFL storage root nor an OCFL object", "OCFL-VALIDATOR")
