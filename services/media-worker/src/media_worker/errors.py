"""The media worker's exception tree.

    MediaWorkerError
    ├── JobRejected       a handler refuses or fails a job with a message meant for the client
    └── JobSuperseded     another worker already finished this job; stop working on it

Any other exception escaping a handler becomes an error event naming the exception type.
"""

from __future__ import annotations


class MediaWorkerError(Exception):
    """Base of every error raised by ``media_worker``."""


class JobRejected(MediaWorkerError):
    """Raised by a handler to end its job with an error event carrying ``code`` and
    ``message`` verbatim (so the message must be safe to show a client)."""

    def __init__(self, *, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class JobSuperseded(MediaWorkerError):
    """Raised by ``progress()`` when the job already has a terminal event (a reclaimed job
    whose first worker finished after all): the handler's work would be thrown away."""
