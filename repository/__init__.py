"""hsar: a digital-preservation repository for housing-security archives (住房保障档案)."""

import warnings

__version__ = "0.1.0"
SOFTWARE = f"hsar {__version__}"


def quiet_third_party_warnings(argv: list[str]) -> None:
    """Warnings raised in other packages' code (pyHanko's import under cryptography >= 51, jieba's use of
    pkg_resources, ...) never reach a user's terminal; ``--debug`` shows them. hsar's own warnings stay.

    The command line applies it at its entry, and so does every script under ``bench/``."""
    if "--debug" in argv:
        return
    warnings.filterwarnings("ignore", module=r"(?!repository(\.|$))")
