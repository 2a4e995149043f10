"""Changing settings at runtime: validate, store durably, apply on every replica.

A change is checked against the settings model with every other stored override before
anything is written (``InvalidSettings`` names each bad key; nothing is stored then). The
store holds the overrides (secrets encrypted, ``grok2api_storage.settings_secrets``) and is
their source of truth: after a write the whole override set is read back and published on
the ``ChangeBus``, because ``LiveSettings.apply`` replaces a replica's overrides as a whole.
This process applies the set itself too, so its own view is current even without a bus.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pydantic
from grok2api_settings import applying, model
from grok2api_settings import live as live_settings
from grok2api_storage import crypto, errors, protocols, settings_secrets

from . import settings_catalog


class InvalidSettings(Exception):
    """A change was refused; ``problems`` maps each bad dotted key to why."""

    def __init__(self, problems: Mapping[str, str]):
        super().__init__("; ".join(f"{key}: {why}" for key, why in problems.items()))
        self.problems = dict(problems)


class SettingsEditor:
    def __init__(
        self,
        *,
        live: live_settings.LiveSettings,
        overrides: protocols.SettingsOverrideRepository,
        cipher: crypto.CredentialCipher | None,
        bus: live_settings.ChangeBus | None,
        origins: Mapping[str, str],
    ) -> None:
        self._live = live
        self._repo = overrides
        self._cipher = cipher or crypto.NoCipher()
        self._bus = bus
        self.origins = dict(origins)

    async def describe(self) -> list[dict[str, Any]]:
        stored = await self._repo.get_all()
        return settings_catalog.describe(
            current=self._live.current, overrides=self._live.overrides,
            origins=self.origins, stored=stored,
        )

    async def change(self, values: Mapping[str, Any], *, by: str) -> list[str]:
        """Validate and store ``values`` (dotted key → value), then apply them everywhere;
        the keys changed. ``InvalidSettings`` when any key or value is refused."""
        stored = await self._stored()
        normalised = _validated(values, others=stored)
        if any(settings_catalog.is_secret(key) for key in normalised):
            _require_key(self._cipher, normalised)
        await self._repo.set_many(
            settings_secrets.seal(normalised, cipher=self._cipher), updated_by=by
        )
        await self._publish()
        return sorted(normalised)

    async def reset(self, keys: Iterable[str], *, by: str) -> int:
        """Remove the stored overrides of ``keys`` (back to default, file or environment)
        and apply that everywhere; how many were stored. ``by`` is kept for the audit."""
        unknown = {key: "no such setting" for key in keys if not settings_catalog.exists(key)}
        if unknown:
            raise InvalidSettings(unknown)
        removed = await self._repo.delete(keys)
        await self._publish()
        return removed

    async def _stored(self) -> dict[str, Any]:
        return settings_secrets.unseal(await self._repo.get_all(), cipher=self._cipher)

    async def _publish(self) -> None:
        overrides = await self._stored()
        self._live.apply(overrides)
        if self._bus is not None:
            await self._bus.publish(overrides)


def _validated(values: Mapping[str, Any], *, others: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` as the model coerced them (``"false"`` → ``False``); ``InvalidSettings``
    naming every refused key, each checked on its own and then all together."""
    problems: dict[str, str] = {}
    for key in values:
        if not settings_catalog.exists(key):
            problems[key] = "no such setting"
        elif (why := applying.read_only(key)) is not None:
            problems[key] = f"cannot be changed at runtime: {why}"
    if problems:
        raise InvalidSettings(problems)
    merged = {**others, **values}
    try:
        settings = model.Settings.model_validate(_nested(merged))
    except pydantic.ValidationError as exc:
        for error in exc.errors():
            key = ".".join(str(part) for part in error["loc"][:2])
            problems.setdefault(key if key in merged else next(iter(values)), error["msg"])
        raise InvalidSettings(problems) from None
    return {key: settings_catalog.value_of(settings, key) for key in values}


def _nested(overrides: Mapping[str, Any]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for dotted, value in overrides.items():
        section, _, key = dotted.partition(".")
        nested.setdefault(section, {})[key] = value
    return nested


def _require_key(cipher: crypto.CredentialCipher, values: Mapping[str, Any]) -> None:
    try:
        cipher.encrypt("")
    except errors.EncryptionKeyError as exc:
        secret = next(key for key in values if settings_catalog.is_secret(key))
        raise InvalidSettings({secret: f"secrets are stored encrypted: {exc}"}) from exc
