"""Tokens at rest: Fernet (``cryptography``), with several keys so one can be rotated.

``DECISIONBOT_ENCRYPTION_KEY`` holds one key or several, comma-separated, newest first: the
newest encrypts, every one decrypts. Rotating a key is adding a new one in front, running
``decisionbot rotate-key`` (every stored token re-encrypted under the newest), then dropping
the old one.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class BadKey(ValueError):
    """A key that is not a Fernet key; the message says which one (by position), never it."""


class UnreadableToken(Exception):
    """A stored token no configured key can decrypt (the key was dropped too soon)."""


def parse_keys(raw: str) -> list[str]:
    """The keys in ``raw`` (comma-separated, newest first), each checked to be a Fernet key."""
    keys = [k.strip() for k in raw.split(",") if k.strip()]
    for n, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode())
        except (ValueError, TypeError):
            raise BadKey(
                f"key {n} of {len(keys)} is not a Fernet key (32 url-safe base64-encoded bytes; "
                "make one with `decisionbot new-key`)"
            ) from None
    return keys


def new_key() -> str:
    return Fernet.generate_key().decode()


class TokenCipher:
    """Encrypts with the newest key, decrypts with any."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("at least one key")
        self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])

    def encrypt(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def decrypt(self, stored: str) -> str:
        try:
            return self._fernet.decrypt(stored.encode()).decode()
        except InvalidToken:
            raise UnreadableToken("no configured key decrypts this token") from None

    def rotate(self, stored: str) -> str:
        """``stored`` re-encrypted under the newest key (unchanged in meaning)."""
        try:
            return self._fernet.rotate(stored.encode()).decode()
        except InvalidToken:
            raise UnreadableToken("no configured key decrypts this token") from None
