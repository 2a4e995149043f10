"""The media worker: consumes the media job queue and runs each job's handler by kind.

main.running(settings, queue=..., handlers=...)   a worker inside another process
main.serve_forever(settings, redis=..., stop=...)   the ``media-worker`` split target
http.create_app(redis=...)                  ``/metrics``, ``/healthz``, ``/readyz``
handlers.media_handlers(ctx)                the media job kinds served, by kind
media/                                      the handlers: images, edits, videos
"""
