"""What the ``OTEL_*`` variables ask of tracing, checked at start.

``read`` answers None when tracing stays off, else a ``Choice`` of exporters; ``sampler``
builds the sampler ``OTEL_TRACES_SAMPLER`` / ``OTEL_TRACES_SAMPLER_ARG`` name. A value this
module does not understand raises ``TracingConfigError`` naming the variable, instead of
the SDK's warning and silent fallback.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import sampling

EXPORTER = "OTEL_TRACES_EXPORTER"
PROTOCOLS = ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
ENDPOINTS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
SAMPLER, SAMPLER_ARG = "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG"
_EXPORTERS = ("otlp", "console", "none")
_PROTOCOLS = ("grpc", "http/protobuf")


class TracingConfigError(ValueError):
    """An ``OTEL_*`` variable holds a value grok2api cannot honour; the message names it."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Otlp:
    protocol: str
    endpoint: str | None
    """None: the exporter reads its ``OTEL_EXPORTER_OTLP_*`` variables itself."""
    insecure: bool = False


@dataclasses.dataclass(frozen=True, kw_only=True)
class Choice:
    otlp: Otlp | None
    console: bool


def read(environ: Mapping[str, str], *, otlp_endpoint: str = "") -> Choice | None:
    """The exporters to install, or None: tracing off.

    ``otlp_endpoint`` is the ``telemetry.otlp_endpoint`` setting (the CLI also maps
    ``OTEL_EXPORTER_OTLP_ENDPOINT`` onto it); an endpoint alone turns OTLP export on."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    names = [n.strip().lower() for n in environ.get(EXPORTER, "").split(",") if n.strip()]
    unknown = [n for n in names if n not in _EXPORTERS]
    if unknown:
        raise TracingConfigError(
            f"{EXPORTER}={environ[EXPORTER]!r}: unknown exporter {unknown[0]!r} "
            f"(choose from {', '.join(_EXPORTERS)})"
        )
    env_endpoint = next((environ[k] for k in ENDPOINTS if environ.get(k)), "")
    if not names:
        names = ["otlp"] if env_endpoint or otlp_endpoint else []
    if "none" in names or not names:
        return None
    otlp = _otlp(environ, env_endpoint=env_endpoint, setting=otlp_endpoint) if "otlp" in names \
        else None
    sampler(environ)  # refuse a bad sampler now, not on the first span
    return Choice(otlp=otlp, console="console" in names)


def sampler(environ: Mapping[str, str]) -> sampling.Sampler:
    from opentelemetry.sdk.trace import sampling  # the SDK only once tracing is on

    name = environ.get(SAMPLER, "").strip().lower() or "parentbased_always_on"
    ratio = _ratio(environ) if name.endswith("traceidratio") else 1.0
    simple: dict[str, sampling.Sampler] = {
        "always_on": sampling.ALWAYS_ON,
        "always_off": sampling.ALWAYS_OFF,
        "traceidratio": sampling.TraceIdRatioBased(ratio),
    }
    if name in simple:
        return simple[name]
    root = name.removeprefix("parentbased_")
    if name.startswith("parentbased_") and root in simple:
        return sampling.ParentBased(simple[root])
    choices = ", ".join([*simple, *(f"parentbased_{n}" for n in simple)])
    raise TracingConfigError(f"{SAMPLER}={environ[SAMPLER]!r}: unknown sampler (choose from "
                             f"{choices})")


def _ratio(environ: Mapping[str, str]) -> float:
    raw = environ.get(SAMPLER_ARG, "").strip() or "1.0"
    try:
        ratio = float(raw)
    except ValueError:
        ratio = -1.0
    if not 0.0 <= ratio <= 1.0:
        raise TracingConfigError(f"{SAMPLER_ARG}={raw!r}: a ratio between 0 and 1 is expected")
    return ratio


def _otlp(environ: Mapping[str, str], *, env_endpoint: str, setting: str) -> Otlp:
    protocol_var = next((k for k in PROTOCOLS if environ.get(k)), "")
    protocol = environ[protocol_var].strip().lower() if protocol_var else "grpc"
    if protocol not in _PROTOCOLS:
        raise TracingConfigError(
            f"{protocol_var}={environ[protocol_var]!r}: unsupported OTLP protocol "
            f"(choose from {', '.join(_PROTOCOLS)})"
        )
    if not setting or setting == env_endpoint:
        return Otlp(protocol=protocol, endpoint=None)  # the exporter reads the variables
    # The config-file alias: as before, a bare host:port means plaintext gRPC.
    scheme = urlsplit(setting).scheme if "://" in setting else ""
    if protocol == "grpc":
        return Otlp(protocol=protocol, endpoint=setting, insecure=scheme in ("", "http"))
    if scheme not in ("http", "https"):
        raise TracingConfigError(
            f"telemetry.otlp_endpoint={setting!r}: OTLP over http/protobuf needs an http:// or "
            "https:// URL"
        )
    path = urlsplit(setting).path.rstrip("/")
    return Otlp(protocol=protocol, endpoint=setting if path else setting.rstrip("/") + "/v1/traces")
