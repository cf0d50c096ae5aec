"""API keys with roles, stored hashed.

A key reads ``asg_<key id>_<secret>``.  The database keeps the key id, the role and the SHA-256
of the secret; the secret itself is shown once, when the key is made.  SHA-256 (not a slow
password hash) is right here: the secret is 256 random bits, so there is nothing to guess, and
every request must verify fast.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session

from api.models import ApiKeyRow, utcnow

KEY_PREFIX = "asg"


class Role(StrEnum):
    CASE_SYSTEM = "case-system"
    ADMIN = "admin"
    READ_ONLY = "read-only"


# Who may do what; each route names one of these sets.
READERS = frozenset({Role.READ_ONLY, Role.CASE_SYSTEM, Role.ADMIN})
CASE_WRITERS = frozenset({Role.CASE_SYSTEM, Role.ADMIN})
ADMINS = frozenset({Role.ADMIN})


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's id, name and role."""

    key_id: str
    name: str
    role: Role

    @property
    def actor(self) -> str:
        return f"{self.name} ({self.key_id})"


@dataclass(frozen=True)
class NewKey:
    principal: Principal
    secret: str  # the whole key, shown once


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_key(session: Session, *, role: Role, name: str) -> NewKey:
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    session.add(
        ApiKeyRow(
            id=key_id,
            name=name,
            role=str(role),
            secret_sha256=_sha256(secret),
            created_at=utcnow(),
            revoked_at=None,
        )
    )
    return NewKey(Principal(key_id, name, role), f"{KEY_PREFIX}_{key_id}_{secret}")


_KEY_QUERY = select(
    ApiKeyRow.__table__.c.name,
    ApiKeyRow.__table__.c.role,
    ApiKeyRow.__table__.c.secret_sha256,
    ApiKeyRow.__table__.c.revoked_at,
).where(ApiKeyRow.__table__.c.id == bindparam("key_id"))


def verify_key(conn: Connection | Session, presented: str) -> Principal | None:
    """The key's principal, or None when the key is malformed, unknown, revoked or wrong."""
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    _, key_id, secret = parts
    row = conn.execute(_KEY_QUERY, {"key_id": key_id}).one_or_none()
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.secret_sha256, _sha256(secret)):
        return None
    return Principal(key_id, row.name, Role(row.role))


def revoke_key(session: Session, key_id: str) -> bool:
    row = session.get(ApiKeyRow, key_id)
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    return True


class KeyCache:
    """Keys verified in the last ``ttl_s`` seconds, so that a request needs no database read
    to authenticate.  A revoked key (revocation is a command, in another process) is refused
    at most ``ttl_s`` later; ``ttl_s = 0`` checks the database on every request."""

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._entries: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def get(self, presented: str) -> Principal | None:
        if self.ttl_s <= 0:
            return None
        entry = self._entries.get(_sha256(presented))
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, presented: str, principal: Principal) -> None:
        if self.ttl_s <= 0:
            return
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[_sha256(presented)] = (time.monotonic() + self.ttl_s, principal)
