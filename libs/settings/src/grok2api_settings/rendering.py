"""Settings rendered for people: the commented defaults file, the README reference table,
and the effective values with their sources (secrets masked)."""

from __future__ import annotations

import json
from typing import Any

from . import loading, model

SEED_ENV = {target: name for name, target in loading.NAMED_ENV.items()}


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    # JSON leaves DEL unescaped, which a TOML basic string refuses.
    return json.dumps(str(value), ensure_ascii=False).replace("\x7f", "\\u007f")


def defaults_file() -> str:
    """A ``config.toml`` holding every default, each key preceded by its documentation."""
    defaults = model.Settings()
    lines = [
        "# grok2api configuration. Every key is shown with its default value.",
        "# Environment variables override this file: GROK2API_<SECTION>__<KEY>, plus the",
        "# named ones (LOG_LEVEL, SERVER_PORT, REDIS_URL, ...). See README 'Settings'.",
        "",
    ]
    for section, sec_model in model.section_models().items():
        lines.append(f"[{section}]")
        values = getattr(defaults, section)
        for key, field in sec_model.model_fields.items():
            lines.append(f"# {field.description}")
            env = SEED_ENV.get((section, key))
            if env:
                lines.append(f"# Environment: {env}")
            lines.append(f"{key} = {toml_value(getattr(values, key))}")
        lines.append("")
    return "\n".join(lines)


def reference_table() -> str:
    """The README's settings reference (markdown), generated from the model."""
    defaults = model.Settings()
    rows = [
        "| Key | Default | Environment | Description |",
        "| :--- | :--- | :--- | :--- |",
        f"| `data_dir` | `./data` | `DATA_DIR` | {_data_dir_doc()} |",
    ]
    for section, sec_model in model.section_models().items():
        values = getattr(defaults, section)
        for key, field in sec_model.model_fields.items():
            env = SEED_ENV.get((section, key)) or f"GROK2API_{section.upper()}__{key.upper()}"
            default = toml_value(getattr(values, key)).replace("|", "\\|")
            description = (field.description or "").replace("|", "\\|")
            rows.append(f"| `{section}.{key}` | `{default}` | `{env}` | {description} |")
    return "\n".join(rows)


def _data_dir_doc() -> str:
    return model.Settings.model_fields["data_dir"].description or ""


def effective(loaded: loading.Loaded) -> list[tuple[str, str, str]]:
    """(dotted key, shown value, source) for every setting, secrets masked."""
    settings = loaded.settings
    rows = [("data_dir", str(settings.data_dir), loaded.origin("data_dir"))]
    for section, sec_model in model.section_models().items():
        values = getattr(settings, section)
        for key in sec_model.model_fields:
            value = getattr(values, key)
            shown = toml_value(value)
            if model.is_secret(section, key) and value:
                shown = '"***"'
            dotted = f"{section}.{key}"
            rows.append((dotted, shown, loaded.origin(dotted)))
    return rows
