"""The shape of API key secrets and how they are hashed (shared by every store backend).

A secret reads ``tm_<key_id>_<random>``: the id tells the store which row to check, the random
part (256 bits from :mod:`secrets`) is what proves possession. Only ``sha256(salt + secret)`` is
stored, with a per-key random salt. A plain (fast) hash is enough here: unlike a password, the
secret has full entropy, so there is nothing to gain from guessing; a slow KDF would only add
milliseconds to every HTTP request.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

#: May also create, list and revoke API keys.
ADMIN_ROLE = "admin"
#: Everything but key management (SDK clients, agents, the CLI's task commands).
USER_ROLE = "user"
ROLES = (ADMIN_ROLE, USER_ROLE)

#: ``tm_`` + 16 hex characters of id + ``_`` + url-safe random part.
_SECRET_RE = re.compile(r"^tm_([0-9a-f]{16})_([A-Za-z0-9_\-]{20,128})$")


def check_role(role: str) -> str:
    """``role`` if it is one of :data:`ROLES`; else a ValueError naming them."""
    if role not in ROLES:
        raise ValueError(f"unknown API key role '{role}'; use one of: {', '.join(ROLES)}")
    return role


def new_key_id() -> str:
    """A new random key id (16 hex characters)."""
    return secrets.token_hex(8)


def new_secret(key_id: str) -> str:
    """A new secret for ``key_id``."""
    return f"tm_{key_id}_{secrets.token_urlsafe(32)}"


def new_salt() -> str:
    """A new random salt (32 hex characters)."""
    return secrets.token_hex(16)


def hash_secret(secret: str, salt: str) -> str:
    """The hex digest stored for ``secret``."""
    return hashlib.sha256((salt + secret).encode()).hexdigest()


def key_id_of(secret: str) -> str | None:
    """The key id inside a well-formed secret, None for anything else."""
    m = _SECRET_RE.match(secret)
    return m.group(1) if m else None


def matches(secret: str, salt: str, stored_hash: str) -> bool:
    """Constant-time check of ``secret`` against a stored hash."""
    return hmac.compare_digest(hash_secret(secret, salt), stored_hash)
