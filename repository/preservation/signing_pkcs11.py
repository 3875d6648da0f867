"""A signing key held in a PKCS#11 token (a hardware security module, a smart card, SoftHSM2), used through
pyHanko's PKCS#11 signer (``pyhanko.sign.pkcs11``, python-pkcs11).

With ``signing.pkcs11_module`` set, the key never lives in the home: whoever can read the home cannot re-sign
a tampered version. The token is found by its label (``signing.pkcs11_token``), the private key by its label
(``signing.pkcs11_key``); the signer certificate and its chain stay files (``signing.cert``,
``signing.chain``: public, and what the trust roots are checked against). The user PIN comes from the
environment variable named by ``signing.pkcs11_pin_env`` or from the file ``signing.pkcs11_pin_file``
(first line), never from ``hsar.toml``. Every failure is a :class:`SigningError` with a stable code.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from asn1crypto import x509 as asn1_x509

from ..config import Config
from ..errors import SigningError

if TYPE_CHECKING:
    from pyhanko.sign.pkcs11 import PKCS11Signer

def pkcs11_configured(cfg: Config) -> bool:
    return bool(str(cfg["signing.pkcs11_module"]).strip())


def _pin(cfg: Config, env: Mapping[str, str]) -> str:
    env_name, pin_file = str(cfg["signing.pkcs11_pin_env"]), str(cfg["signing.pkcs11_pin_file"])
    if env_name:
        if env_name not in env:
            raise SigningError(code="SIGNING-PIN", msgid="signing.pkcs11.pin_env_unset", name=env_name)
        return env[env_name]
    if pin_file:
        path = cfg.path("signing.pkcs11_pin_file")
        try:
            return path.read_text("utf-8").splitlines()[0] if path.stat().st_size else ""
        except (OSError, UnicodeDecodeError, IndexError) as exc:
            raise SigningError(code="SIGNING-PIN", msgid="signing.pkcs11.pin_file_unreadable", file=str(path),
                               detail=type(exc).__name__) from None
    raise SigningError(code="SIGNING-PIN", msgid="signing.pkcs11.no_pin")


def load_pkcs11_signer(cfg: Config, cert: asn1_x509.Certificate, chain: list[asn1_x509.Certificate], *,
                       environ: Mapping[str, str] | None = None) -> PKCS11Signer:
    """pyHanko's PKCS#11 signer for the key ``signing.pkcs11_key`` of the token ``signing.pkcs11_token``."""
    try:
        from pkcs11 import exceptions as p11_errors
        from pyhanko.config.pkcs11 import TokenCriteria
        from pyhanko.sign.general import SigningError as HankoSigningError
        from pyhanko.sign.pkcs11 import PKCS11Signer, open_pkcs11_session
    except ImportError as exc:  # the pkcs11 extra is not installed
        raise SigningError(code="SIGNING-PKCS11", msgid="signing.pkcs11.unavailable", detail=str(exc)) from None
    env = os.environ if environ is None else environ
    module, token = str(cfg["signing.pkcs11_module"]), str(cfg["signing.pkcs11_token"])
    key_label = str(cfg["signing.pkcs11_key"])
    if not token or not key_label:
        raise SigningError(code="SIGNING-PKCS11", msgid="signing.pkcs11.incomplete")
    if not Path(module).is_file():
        raise SigningError(code="SIGNING-PKCS11", msgid="signing.pkcs11.no_module", module=module)
    pin = _pin(cfg, env)
    try:  # a session per signer: callers keep one signer per process and home (forked workers open their own)
        criteria = TokenCriteria(label=token)
        try:
            session = open_pkcs11_session(module, token_criteria=criteria, user_pin=pin)
        except p11_errors.UserAlreadyLoggedIn:  # another signer of this process logged in to the token
            session = open_pkcs11_session(module, token_criteria=criteria, user_pin=None)
        signer = PKCS11Signer(session, key_label=key_label, signing_cert=cert, ca_chain=chain,
                              use_raw_mechanism=True)  # hashed here: tokens (SoftHSM2) lack CKM_ECDSA_SHA512
        signer._load_objects()  # find the key now: a wrong label fails here, not at the first signature
    except (p11_errors.PKCS11Error, HankoSigningError, OSError, ValueError, LookupError) as exc:
        raise SigningError(code="SIGNING-PKCS11", msgid="signing.pkcs11.failed", token=token, key=key_label,
                           detail=f"{type(exc).__name__}: {exc}") from None
    return signer
