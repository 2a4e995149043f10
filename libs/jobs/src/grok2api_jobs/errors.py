"""The job queue's exception tree.

    JobsError
    ├── InvalidJobIdError     a job id that this queue never issues (rejected before any I/O)
    ├── JobTimeoutError       ``wait()`` saw no terminal event in time
    └── QueueUnavailableError the backend (Redis) did not answer; the driver error is chained

Driver errors are translated in exactly one place (``redis_streams._translated``).
"""

from __future__ import annotations


class JobsError(Exception):
    """Base of every error raised by ``grok2api_jobs``."""


class InvalidJobIdError(JobsError, ValueError):
    """The job id is malformed (ids are 32 lowercase hex characters)."""


class JobTimeoutError(JobsError, TimeoutError):
    """No terminal event arrived for the job within the timeout."""

    def __init__(self, *, job_id: str, timeout: float) -> None:
        super().__init__(f"job {job_id} did not finish within {timeout:g}s")
        self.job_id = job_id
        self.timeout = timeout


class QueueUnavailableError(JobsError):
    """The queue backend could not be reached or refused the command."""
