"""The root settings model: one attribute per section."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from . import sections


class Settings(BaseModel):
    """Every setting of every service. Immutable: a runtime change builds a new instance."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    data_dir: Path = Field(
        Path("./data"), description="Data directory: config.toml, SQLite, keys, logs (DATA_DIR)."
    )
    app: sections.AppSettings = Field(default_factory=sections.AppSettings)
    network: sections.NetworkSettings = Field(default_factory=sections.NetworkSettings)
    security: sections.SecuritySettings = Field(default_factory=sections.SecuritySettings)
    chat: sections.ChatSettings = Field(default_factory=sections.ChatSettings)
    retry: sections.RetrySettings = Field(default_factory=sections.RetrySettings)
    timeout: sections.TimeoutSettings = Field(default_factory=sections.TimeoutSettings)
    image: sections.ImageSettings = Field(default_factory=sections.ImageSettings)
    token: sections.TokenSettings = Field(default_factory=sections.TokenSettings)
    cache: sections.CacheSettings = Field(default_factory=sections.CacheSettings)
    performance: sections.PerformanceSettings = Field(default_factory=sections.PerformanceSettings)
    usage: sections.UsageSettings = Field(default_factory=sections.UsageSettings)
    server: sections.ServerSettings = Field(default_factory=sections.ServerSettings)
    log: sections.LogSettings = Field(default_factory=sections.LogSettings)
    services: sections.ServicesSettings = Field(default_factory=sections.ServicesSettings)
    telemetry: sections.TelemetrySettings = Field(default_factory=sections.TelemetrySettings)
    egress: sections.EgressSettings = Field(default_factory=sections.EgressSettings)


def section_models() -> dict[str, type[sections.Section]]:
    """Section name → model, in declaration order."""
    return {
        name: field.annotation  # type: ignore[misc]
        for name, field in Settings.model_fields.items()
        if isinstance(field.annotation, type) and issubclass(field.annotation, sections.Section)
    }


def is_secret(section: str, key: str) -> bool:
    field = section_models()[section].model_fields[key]
    extra = field.json_schema_extra
    return isinstance(extra, dict) and bool(extra.get("secret"))
