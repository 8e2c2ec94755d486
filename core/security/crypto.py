"""AES-256-GCM envelope encryption of stored secrets, with master-key rotation.

`SECRETS_MASTER_KEYS="kid2:base64key,kid1:base64key"`: the first key encrypts, every key
decrypts. A ciphertext is `v1:<kid>:<base64(nonce || ciphertext+tag)>`, so the key that sealed it
is known without trying them all. The associated data binds a ciphertext to its row and column,
so a ciphertext copied onto another row does not decrypt.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class UnknownMasterKey(Exception):
    def __init__(self, kid: str) -> None:
        self.kid = kid
        super().__init__(f"master key {kid!r} is not in SECRETS_MASTER_KEYS; cannot decrypt")


class UndecryptableSecret(Exception):
    """The ciphertext is damaged or belongs to another row."""


@dataclass(frozen=True)
class Keyring:
    keys: dict[str, bytes]
    primary: str

    @classmethod
    def parse(cls, spec: str) -> Keyring:
        keys: dict[str, bytes] = {}
        primary = ""
        for item in (p.strip() for p in spec.split(",") if p.strip()):
            kid, _, b64 = item.partition(":")
            try:
                key = base64.b64decode(b64, validate=True)
            except (binascii.Error, ValueError):
                raise ValueError(f"SECRETS_MASTER_KEYS: key {kid!r} is not base64") from None
            if not kid or len(key) != 32:
                raise ValueError(f"SECRETS_MASTER_KEYS: key {kid!r} must be kid:base64(32 bytes)")
            keys[kid] = key
            primary = primary or kid
        if not keys:
            raise ValueError("SECRETS_MASTER_KEYS is empty")
        return cls(keys=keys, primary=primary)

    def encrypt(self, plaintext: str, context: str) -> str:
        nonce = os.urandom(12)
        sealed = AESGCM(self.keys[self.primary]).encrypt(nonce, plaintext.encode(), context.encode())
        return f"v1:{self.primary}:{base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, token: str, context: str) -> str:
        kid = key_id_of(token)
        key = self.keys.get(kid)
        if key is None:
            raise UnknownMasterKey(kid)
        raw = base64.b64decode(token.split(":", 2)[2])
        try:
            return AESGCM(key).decrypt(raw[:12], raw[12:], context.encode()).decode()
        except InvalidTag:
            raise UndecryptableSecret(f"secret for {context} does not decrypt") from None

    def needs_rotation(self, token: str) -> bool:
        return key_id_of(token) != self.primary


def key_id_of(token: str) -> str:
    version, kid, _ = token.split(":", 2)
    if version != "v1":
        raise UndecryptableSecret(f"unknown ciphertext version {version!r}")
    return kid


def new_master_key(kid: str) -> str:
    return f"{kid}:{base64.b64encode(secrets.token_bytes(32)).decode()}"


def new_secret(prefix: str) -> str:
    """A secret shown once to its owner: prefix + 43 url-safe characters (256 bits)."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


_keyrings: dict[str, Keyring] = {}


def keyring_for(spec: str) -> Keyring:
    ring = _keyrings.get(spec)
    if ring is None:
        ring = _keyrings[spec] = Keyring.parse(spec)
    return ring
