"""Dashboard password hashes: argon2id for every new hash; older scrypt hashes still verify and are
replaced at the next successful sign-in (issue 22, "kept libraries instead of hand code").

Both are deliberately slow CPU work: callers run them in a thread (`asyncio.to_thread`).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# argon2-cffi's defaults are RFC 9106's low-memory profile (t=3, m=64 MiB, p=4); the parameters
# travel in the hash, so raising them later marks older hashes for re-hashing.
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """An argon2id hash (`$argon2id$v=19$m=...`)."""
    return _hasher.hash(password)


def check_password(password: str, stored: str) -> bool:
    if stored.startswith("scrypt$"):
        return _check_scrypt(password, stored)
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """True for a legacy scrypt hash or an argon2 hash made with weaker parameters than today's."""
    if stored.startswith("scrypt$"):
        return True
    try:
        return _hasher.check_needs_rehash(stored)
    except InvalidHashError:
        return True


def _check_scrypt(password: str, stored: str) -> bool:
    """The pre-argon2 format `scrypt$n$r$p$salt$hash` (base64)."""
    try:
        _, n, r, p, salt, digest = stored.split("$")
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=32)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, base64.b64decode(digest))


@functools.cache
def dummy_hash() -> str:
    """Verifying against this when the email is unknown keeps the answer time the same either way.
    Made at first use, not at import: an argon2 hash is 150 ms of CPU that every process start and
    every `gateway` command paid (issue 19)."""
    return hash_password("not-a-real-password")
