"""Privacy configuration: the salt of the pseudonymous identifier hashes (see docs/PRIVACY.md).

Every salted hash (marts' `email_hash`, the erasure suppression list, the keys of email-keyed records
in marts.customer_identity) is `sha256(salt || ':' || lower(trim(value)))` (macro `pii_hash` in
sql/macros.sql). The salt must stay the same across runs, or suppressed identifiers would land again.

Where it comes from:
1. env `SEG_PII_SALT` (production: inject it from the organisation's secret store; never commit it);
2. if `SEG_ENV=production` and no `SEG_PII_SALT`: an error, the run stops;
3. otherwise (demo, tests, a laptop): DEMO_SALT below, a documented NON-SECRET default. It is public, so
   hashes made with it are not protected against a dictionary attack: acceptable for synthetic demo
   data only. It is deterministic so reruns into different folders give identical marts.
Nothing reads the environment at import time.
"""
from __future__ import annotations

import hashlib
import os

SALT_ENV = "SEG_PII_SALT"
MIN_SALT_LENGTH = 16
# NOT A SECRET. Demo/test default only; production must set SEG_PII_SALT (and SEG_ENV=production).
DEMO_SALT = "demo-salt-NOT-SECRET-set-SEG_PII_SALT-in-production"


class MissingSaltError(RuntimeError):
    """Production run without SEG_PII_SALT, or a salt too short to be a secret."""


def is_production() -> bool:
    return os.environ.get("SEG_ENV", "").lower() in ("prod", "production")


def pii_salt() -> str:
    """The salt for this run (see the module docstring for the order of sources)."""
    value = os.environ.get(SALT_ENV)
    if value:
        if len(value) < MIN_SALT_LENGTH:
            raise MissingSaltError(f"{SALT_ENV} is {len(value)} characters; use at least {MIN_SALT_LENGTH} random characters")
        return value
    if is_production():
        raise MissingSaltError(
            f"{SALT_ENV} is not set and SEG_ENV=production: set it from the secret store (at least "
            f"{MIN_SALT_LENGTH} random characters, e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`). "
            "It must never change afterwards, or erased people's identifiers would no longer be suppressed."
        )
    return DEMO_SALT


def pii_hash(value: str | None, salt: str | None = None) -> str | None:
    """Python twin of the SQL macro pii_hash: sha256(salt || ':' || lower(trim(value))), hex."""
    if value is None or not str(value).strip():
        return None
    salt = pii_salt() if salt is None else salt
    return hashlib.sha256(f"{salt}:{str(value).strip().lower()}".encode()).hexdigest()
