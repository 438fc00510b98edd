"""Tokens at rest are Fernet-encrypted (AES-128-CBC with HMAC) under `CONFLUENCE_LINK_KEY`, a Secret Manager
secret: a copy of the links file alone gives no one a way into Confluence."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken

from common.errors import ConfigError, LinkRefused


class TokenCipher:
    def __init__(self, key: str) -> None:
        try:
            self._fernet = Fernet(key.encode())
        except ValueError as exc:
            raise ConfigError(
                "CONFLUENCE_LINK_KEY is not a Fernet key: make one with "
                '`python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`.'
            ) from exc

    def encrypt(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode()

    def decrypt(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken as exc:
            raise LinkRefused(
                "Your stored Confluence token can no longer be read (the key was rotated); link again."
            ) from exc
