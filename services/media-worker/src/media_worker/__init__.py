"""The media worker: consumes the media job queue and runs each job's handler by kind.

main.running(settings, queue=...)           a worker inside another process (context manager)
main.serve_forever(settings, redis=..., stop=...)   the ``media-worker`` split target
http.create_app(redis=...)                  ``/metrics``, ``/healthz``, ``/readyz``
handlers.default_handlers(settings)         the job kinds served, by kind
"""
