"""The emulator's one clock: token windows, quotas, breaker trips and Retry-After all read it, and only the
control API (`POST /_emulator/clock`) moves it forward, so scenarios never sleep."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

START = datetime(2026, 12, 1, 9, 0, 0, tzinfo=UTC)


class Clock:
    def __init__(self, start: datetime = START) -> None:
        self._start = start
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._now += timedelta(seconds=seconds)
            return self._now

    def reset(self) -> None:
        with self._lock:
            self._now = self._start
