"""The media worker's exception tree.

    MediaWorkerError
    ├── JobRejected       a handler refuses or fails a job with a message meant for the client
    │   └── JobTimedOut   the job did not finish within its deadline (``timeout.media_timeout``)
    └── JobSuperseded     another worker already finished this job; stop working on it

Any other exception escaping a handler becomes an error event naming the exception type.
"""

from __future__ import annotations


class MediaWorkerError(Exception):
    """Base of every error raised by ``media_worker``."""


class JobRejected(MediaWorkerError):
    """Raised by a handler to end its job with an error event carrying ``code`` and
    ``message`` verbatim (so the message must be safe to show a client)."""

    def __init__(
        self, *, code: str, message: str, status: int = 500, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status  # the HTTP status a gateway answers the job's client with
        self.retry_after = retry_after


class JobTimedOut(JobRejected):
    """The job ran past its deadline: a ``JobRejected`` that the worker counts as a
    ``timeout`` rather than a failure (``grok2api_media_jobs_finished_total``)."""


class JobSuperseded(MediaWorkerError):
    """Raised by ``progress()`` when the job already has a terminal event (a reclaimed job
    whose first worker finished after all, or a job cancelled by its client): the handler's
    work would be thrown away. A handler that does not report progress for a while is
    cancelled instead, by the worker's poll of finished jobs."""
