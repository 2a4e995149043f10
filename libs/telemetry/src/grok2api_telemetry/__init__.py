"""Logging, metrics and tracing shared by every service.

    ``logs.configure(settings)``      structured records on stdout (+ rotated file if enabled)
    ``context.request_id``            the request id carried by every log record
    ``metrics.metrics_app()``          an ASGI app serving the Prometheus registry
    ``tracing.configure(...)``        OpenTelemetry tracing from the OTEL_* variables (off
                                      by default); ``tracing.enabled()``, ``span()``,
                                      ``inject()`` / ``extract()`` for instrumented code
    ``requests.RequestIdMiddleware``  request ids, access records, the HTTP server span
"""
