"""Which OTEL_* settings turn tracing on, and which are refused at start."""

from __future__ import annotations

import pytest
from grok2api_telemetry import tracing, tracing_config
from opentelemetry import trace
from opentelemetry.sdk.trace import sampling


def test_tracing_is_off_without_an_exporter_or_an_endpoint() -> None:
    assert tracing_config.read({}) is None
    assert tracing.configure(environ={}, service_name="grok2api") is None
    assert not tracing.enabled()
    # the global provider is still OTel's proxy: nothing was installed
    assert not hasattr(trace.get_tracer_provider(), "add_span_processor")


def test_an_endpoint_alone_turns_on_otlp_over_grpc() -> None:
    choice = tracing_config.read({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317"})
    assert choice == tracing_config.Choice(
        otlp=tracing_config.Otlp(protocol="grpc", endpoint=None), console=False)


def test_the_setting_alias_is_a_plaintext_grpc_endpoint() -> None:
    choice = tracing_config.read({}, otlp_endpoint="collector:4317")
    assert choice is not None and choice.otlp == tracing_config.Otlp(
        protocol="grpc", endpoint="collector:4317", insecure=True)


def test_http_protobuf_gets_the_traces_path_on_a_bare_setting() -> None:
    env = {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}
    choice = tracing_config.read(env, otlp_endpoint="http://collector:4318")
    assert choice is not None and choice.otlp is not None
    assert choice.otlp.endpoint == "http://collector:4318/v1/traces"


@pytest.mark.parametrize("env", [
    {"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317"},
    {"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"},
])
def test_none_and_sdk_disabled_keep_tracing_off(env: dict[str, str]) -> None:
    assert tracing_config.read(env) is None


def test_the_console_exporter_alone_needs_no_endpoint() -> None:
    assert tracing_config.read({"OTEL_TRACES_EXPORTER": "console"}) == tracing_config.Choice(
        otlp=None, console=True)


@pytest.mark.parametrize(("env", "named"), [
    ({"OTEL_TRACES_EXPORTER": "jaeger"}, "OTEL_TRACES_EXPORTER"),
    ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "thrift"},
     "OTEL_EXPORTER_OTLP_PROTOCOL"),
    ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_TRACES_SAMPLER": "sometimes"},
     "OTEL_TRACES_SAMPLER"),
    ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_TRACES_SAMPLER": "traceidratio",
      "OTEL_TRACES_SAMPLER_ARG": "2"}, "OTEL_TRACES_SAMPLER_ARG"),
])
def test_a_malformed_variable_is_refused_by_name(env: dict[str, str], named: str) -> None:
    with pytest.raises(tracing.TracingConfigError, match=named):
        tracing_config.read(env)


def test_the_sampler_follows_otel_traces_sampler() -> None:
    assert tracing_config.sampler({}).get_description().startswith("ParentBased{root:AlwaysOn")
    ratio = tracing_config.sampler(
        {"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.25"})
    assert isinstance(ratio, sampling.TraceIdRatioBased) and ratio.rate == 0.25
