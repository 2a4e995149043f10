"""Capped exponential back-off with jitter, for retrying an unreachable next stage."""

from __future__ import annotations

import random


class Backoff:
    """``next()`` gives ``initial``, then twice the previous delay, up to ``cap``; each delay
    is jittered down by up to a half so that replicas do not retry in step. ``reset()``
    after a success."""

    def __init__(self, *, initial: float = 0.1, cap: float = 10.0) -> None:
        if not 0 < initial <= cap:
            raise ValueError("need 0 < initial <= cap")
        self.initial = initial
        self.cap = cap
        self._next = initial

    def next(self) -> float:
        delay = self._next
        self._next = min(self._next * 2, self.cap)
        return delay * random.uniform(0.5, 1.0)

    def reset(self) -> None:
        self._next = self.initial
