"""Secret settings overrides encrypted at rest, like account credentials.

A stored override of a secret setting (``app.app_key``, ``security.cf_clearance``, …: the
fields the settings model marks secret) is kept as ``{"encrypted": "<Fernet token>"}``, the
token holding the value's JSON; every other override is stored as its plain JSON value.
``seal`` is applied before ``SettingsOverrideRepository.set_many``, ``unseal`` after
``get_all``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from grok2api_settings import model

from . import crypto, errors, records

ENCRYPTED = "encrypted"


def is_secret(dotted: str) -> bool:
    section, _, key = dotted.partition(".")
    sections = model.section_models()
    return (
        section in sections
        and key in sections[section].model_fields
        and model.is_secret(section, key)
    )


def seal(values: Mapping[str, Any], *, cipher: crypto.CredentialCipher) -> dict[str, Any]:
    """``values`` with every secret one encrypted (``EncryptionKeyError`` without a key)."""
    return {
        key: {ENCRYPTED: cipher.encrypt(json.dumps(value))} if is_secret(key) else value
        for key, value in values.items()
    }


def unseal(
    stored: Mapping[str, records.SettingOverride], *, cipher: crypto.CredentialCipher
) -> dict[str, Any]:
    """The plain override values (``DecryptionError`` when a secret's key does not match)."""
    values: dict[str, Any] = {}
    for key, override in stored.items():
        value = override.value
        if isinstance(value, dict) and set(value) == {ENCRYPTED}:
            value = json.loads(cipher.decrypt(value[ENCRYPTED]))
        elif is_secret(key):
            raise errors.InvalidRecordError(f"the stored override of {key} is not encrypted")
        values[key] = value
    return values
