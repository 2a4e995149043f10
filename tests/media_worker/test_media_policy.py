"""The media retry policy follows the live ``retry`` settings (built once per section)."""

from __future__ import annotations

from typing import Any, cast

from grok2api_settings import Settings
from media_worker.media import leased
from media_worker.media.context import MediaContext


class _Ctx:
    def __init__(self) -> None:
        self.current = Settings()

    def settings(self) -> Settings:
        return self.current


def test_the_policy_retries_blocked_generations_and_follows_settings_changes() -> None:
    holder = _Ctx()
    ctx = cast(MediaContext, cast(Any, holder))
    first = leased.media_policy(ctx)
    assert leased.BLOCKED_STATUS in first.retry_status_codes
    assert first.max_retry == holder.current.retry.max_retry
    assert leased.media_policy(ctx) is first  # the same section: the same policy

    holder.current = holder.current.model_copy(
        update={"retry": holder.current.retry.model_copy(update={"max_retry": 7})}
    )
    changed = leased.media_policy(ctx)
    assert changed.max_retry == 7
    assert leased.BLOCKED_STATUS in changed.retry_status_codes
