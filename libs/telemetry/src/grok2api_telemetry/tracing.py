"""OpenTelemetry tracing, off unless configured, and then free.

``configure(environ=..., service_name=..., otlp_endpoint=...)`` reads the standard ``OTEL_*``
variables once at start. Tracing is on when ``OTEL_TRACES_EXPORTER`` names an exporter
(``otlp``, ``console``) or an OTLP endpoint is given (``OTEL_EXPORTER_OTLP_ENDPOINT``,
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``, or the ``telemetry.otlp_endpoint`` setting, its
alias); ``OTEL_TRACES_EXPORTER=none`` or ``OTEL_SDK_DISABLED=true`` keep it off. The SDK
itself reads the rest (``OTEL_TRACES_SAMPLER`` and ``_ARG``, ``OTEL_EXPORTER_OTLP_HEADERS``,
``_TIMEOUT``, ``_CERTIFICATE``, ``OTEL_BSP_*``, ``OTEL_RESOURCE_ATTRIBUTES``).

Off (the default) no tracer provider is installed and instrumented code creates no span
objects at all: every instrumented place asks ``enabled()`` (one global read) or calls
``span()``, which then returns a shared do-nothing context manager. A no-op OTel span still
costs microseconds per call, which the hot path does not pay.

The module keeps its own provider rather than relying on the global one (which OTel lets a
process set only once), so tests can ``install`` an in-memory exporter and ``uninstall`` it.

The OTel SDK (its trace provider, processors and exporters) is imported only when tracing is
turned on: off, only the light OTel API is loaded.

Span attributes never carry credentials, keys, cookies, account ids or prompt text: the
instrumented places set only the names listed in the README's tracing section.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace

from . import tracing_config

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

SpanKind = trace.SpanKind
Span = trace.Span
Status = trace.Status
StatusCode = trace.StatusCode
TracingConfigError = tracing_config.TracingConfigError

_INSTRUMENTATION = "grok2api"
_OFF: contextlib.AbstractContextManager[None] = contextlib.nullcontext()


@dataclasses.dataclass
class _State:
    provider: TracerProvider | None = None
    tracer: trace.Tracer | None = None
    global_set: bool = False


_state = _State()


def enabled() -> bool:
    """True when a provider is installed: the one check instrumented code makes."""
    return _state.tracer is not None


def tracer() -> trace.Tracer:
    """The installed tracer; only call it after ``enabled()`` said True."""
    assert _state.tracer is not None, "tracing is off: check enabled() first"
    return _state.tracer


def install(provider: TracerProvider, *, set_global: bool = False) -> None:
    """Make ``provider`` the one instrumented code uses (tests pass an in-memory one).

    ``set_global`` also installs it as OTel's global provider, for third-party
    instrumentation; OTel allows that once per process, so only ``configure`` asks."""
    _state.provider = provider
    _state.tracer = provider.get_tracer(_INSTRUMENTATION)
    if set_global and not _state.global_set:
        trace.set_tracer_provider(provider)
        _state.global_set = True


def uninstall() -> TracerProvider | None:
    """Turn tracing off again (without flushing); the provider that was installed."""
    provider, _state.provider, _state.tracer = _state.provider, None, None
    return provider


def configure(
    *,
    environ: Mapping[str, str],
    service_name: str,
    otlp_endpoint: str = "",
    extra_processor: SpanProcessor | None = None,
) -> TracerProvider | None:
    """Install a provider as the ``OTEL_*`` variables ask; None (and nothing installed)
    when tracing is off. ``extra_processor`` (tests) turns it on whatever the variables say.
    Raises ``TracingConfigError`` naming a malformed variable."""
    choice = tracing_config.read(environ, otlp_endpoint=otlp_endpoint)
    if choice is None and extra_processor is None:
        return None
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(
        resource=Resource.create({"service.name": service_name}),
        sampler=tracing_config.sampler(environ),
    )
    for exporter in _exporters(choice):
        provider.add_span_processor(BatchSpanProcessor(exporter))
    if extra_processor is not None:
        provider.add_span_processor(extra_processor)
    install(provider, set_global=True)
    return provider


def shutdown() -> None:
    """Flush and stop the installed provider's exporters (at process exit)."""
    provider = uninstall()
    if provider is not None:
        provider.shutdown()


def span(
    name: str,
    *,
    kind: trace.SpanKind = trace.SpanKind.INTERNAL,
    attributes: Mapping[str, Any] | None = None,
    context: otel_context.Context | None = None,
) -> contextlib.AbstractContextManager[trace.Span | None]:
    """A current span for the block, or (tracing off) a shared no-op yielding None."""
    t = _state.tracer
    if t is None:
        return _OFF
    return t.start_as_current_span(name, kind=kind, attributes=attributes, context=context)


def inject(carrier: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """The current trace context as W3C headers (``traceparent``, ``tracestate``) added to
    ``carrier``; an empty dict when tracing is off or no span is current."""
    headers: dict[str, str] = dict(carrier or {})
    if _state.tracer is not None:
        propagate.inject(headers)
    return headers


def extract(carrier: Mapping[str, str]) -> otel_context.Context:
    """The remote parent carried in ``carrier`` (W3C headers), as a context."""
    return propagate.extract(carrier)


@contextlib.contextmanager
def current(span_: trace.Span) -> Iterator[None]:
    """Make ``span_`` current for the block without ending it."""
    token = otel_context.attach(trace.set_span_in_context(span_))
    try:
        yield
    finally:
        otel_context.detach(token)


def annotate(attributes: Mapping[str, Any]) -> None:
    """Add ``attributes`` to the current span (nothing when off or none is recording)."""
    if _state.tracer is None:
        return
    current_span = trace.get_current_span()
    if current_span.is_recording():
        current_span.set_attributes(attributes)


def add_event(name: str, attributes: Mapping[str, Any]) -> None:
    """Add an event to the current span (nothing when off or none is recording)."""
    if _state.tracer is None:
        return
    current_span = trace.get_current_span()
    if current_span.is_recording():
        current_span.add_event(name, attributes)


def _exporters(choice: tracing_config.Choice | None) -> list[SpanExporter]:
    if choice is None:
        return []
    exporters: list[SpanExporter] = []
    if choice.otlp is not None:
        exporters.append(_otlp_exporter(choice.otlp))
    if choice.console:
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        exporters.append(ConsoleSpanExporter())
    return exporters


def _otlp_exporter(otlp: tracing_config.Otlp) -> SpanExporter:
    if otlp.protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        if otlp.endpoint is None:
            return OTLPSpanExporter()
        return OTLPSpanExporter(endpoint=otlp.endpoint, insecure=otlp.insecure)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter as HttpExporter,
    )

    return HttpExporter() if otlp.endpoint is None else HttpExporter(endpoint=otlp.endpoint)
