"""Encryption at rest for account credentials, and their keyed fingerprints.

Credentials are encrypted with Fernet (AES-128-CBC + HMAC-SHA256, random IV), so equal
credentials give different ciphertexts; deduplication therefore uses a separate
fingerprint: HMAC-SHA256 of the credential under a key derived (HKDF) from the same secret.
A plain hash would let anyone holding a database dump confirm a guessed credential.

``cryptography`` (about 8 MB of a process's memory, mostly its compiled library) is imported
at the first credential encrypted, decrypted or fingerprinted, not when the key is loaded:
a process with no account yet, or one that only verifies client keys, never needs it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from grok2api_settings import Settings

from . import errors

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

log = logging.getLogger(__name__)

KEY_SETTING = "security.encryption_key"
SECRET_FILE_NAME = "secret.key"
_FINGERPRINT_INFO = b"grok2api credential fingerprint v1"
_KEY_BYTES = 32  # a Fernet key: 16 bytes of signing key, 16 of encryption key


def generate_key() -> str:
    """A fresh key in the format ``security.encryption_key`` expects (what
    ``Fernet.generate_key`` returns: 32 random bytes, url-safe base64)."""
    return base64.urlsafe_b64encode(os.urandom(_KEY_BYTES)).decode("ascii")


class CredentialCipher:
    """Encrypts, decrypts and fingerprints credentials with one secret key.

    ``source`` names where the key came from (the setting or the key file) so that a
    decryption failure can say which key to check; it never holds the key itself.
    """

    def __init__(self, *, key: str, source: str) -> None:
        try:
            raw = base64.urlsafe_b64decode(key.encode("ascii"))
        except (ValueError, binascii.Error):
            raw = b""
        if len(raw) != _KEY_BYTES:  # what Fernet checks: the key is refused at start
            raise errors.EncryptionKeyError(
                f"{source} is not a valid key: expected 32 url-safe base64 bytes "
                '(generate one with `python -c "from cryptography.fernet import Fernet; '
                'print(Fernet.generate_key().decode())"`)'
            )
        self._key = key
        self._built: tuple[Fernet, bytes] | None = None
        self.source = source

    def _keys(self) -> tuple[Fernet, bytes]:
        """The Fernet of the key and the fingerprint key derived from it (HKDF-SHA256),
        made at first use."""
        if self._built is None:
            from cryptography.fernet import Fernet
            from cryptography.hazmat.primitives import hashes
            from cryptography.hazmat.primitives.kdf.hkdf import HKDF

            raw = base64.urlsafe_b64decode(self._key.encode("ascii"))
            derived = HKDF(
                algorithm=hashes.SHA256(), length=32, salt=None, info=_FINGERPRINT_INFO
            ).derive(raw)
            self._built = (Fernet(self._key.encode("ascii")), derived)
        return self._built

    def __repr__(self) -> str:
        return f"CredentialCipher(source={self.source!r})"

    def encrypt(self, plain: str) -> str:
        """The ciphertext of ``plain`` as ASCII text, different on every call."""
        return self._keys()[0].encrypt(plain.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        """The plain credential; ``DecryptionError`` when the key does not match."""
        from cryptography.fernet import InvalidToken

        fernet = self._keys()[0]
        try:
            return fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError) as exc:
            raise errors.DecryptionError(
                f"a stored credential does not decrypt with the key from {self.source}; "
                f"{KEY_SETTING} must be the key the credentials were stored with"
            ) from exc

    def fingerprint(self, plain: str) -> str:
        """A stable keyed hash (64 hex characters) used to find duplicates."""
        digest = hmac.new(self._keys()[1], plain.encode("utf-8"), hashlib.sha256)
        return digest.hexdigest()


class NoCipher(CredentialCipher):
    """The cipher of a store opened without a key, by a service that never touches
    credentials (the gateway only verifies client keys): any use of a credential raises
    ``EncryptionKeyError``, so a missing key can never silently store plain text."""

    def __init__(self) -> None:
        self.source = "no key"

    def __repr__(self) -> str:
        return "NoCipher()"

    def encrypt(self, plain: str) -> str:
        raise self._refusal()

    def decrypt(self, token: str) -> str:
        raise self._refusal()

    def fingerprint(self, plain: str) -> str:
        raise self._refusal()

    @staticmethod
    def _refusal() -> errors.EncryptionKeyError:
        return errors.EncryptionKeyError(
            f"this store was opened without a credential cipher; accounts need "
            f"{KEY_SETTING} (pass cipher=load_cipher(...) to open_store)"
        )


def load_cipher(settings: Settings, *, allow_generate: bool) -> CredentialCipher:
    """The cipher for ``settings``.

    ``security.encryption_key`` wins when set. When it is empty, the single-process mode
    (``allow_generate=True``) uses ``DATA_DIR/secret.key``, creating it (mode 0600) on
    first start; a split deployment (``allow_generate=False``) cannot share a generated
    file between replicas and so refuses with ``EncryptionKeyError`` naming the setting.
    """
    key = settings.security.encryption_key.strip()
    if key:
        return CredentialCipher(key=key, source=KEY_SETTING)
    if not allow_generate:
        raise errors.EncryptionKeyError(
            f"{KEY_SETTING} is empty: every replica of a split deployment needs the same key "
            "to read the stored credentials; set it (for example through the chart's secret)"
        )
    path = Path(settings.data_dir) / SECRET_FILE_NAME
    return CredentialCipher(key=_read_or_create(path), source=str(path))


def _read_or_create(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        _create_atomically(path)
    try:
        key = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeError) as exc:
        raise errors.EncryptionKeyError(
            f"cannot read the key file {path}; set {KEY_SETTING} or fix the file"
        ) from exc
    if not key:
        raise errors.EncryptionKeyError(f"the key file {path} is empty; set {KEY_SETTING}")
    return key


def _create_atomically(path: Path) -> None:
    """Write a new key unless another process wins the race; the winner's key is kept.

    The key is written to a private temporary file first and then hard-linked into place,
    so a concurrent reader never sees a half-written file.
    """
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(generate_key() + "\n")
        os.link(tmp, path)
        log.info("encryption_key_generated path=%s", path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
