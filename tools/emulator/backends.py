"""Backends as API Management runs them: circuit breakers per Single backend, pools by priority then weight.

Sources: "Backends in API Management" (https://learn.microsoft.com/azure/api-management/backends), sections
"Circuit breaker" and "Load-balanced pool":
- a breaker rule counts responses whose status is in its ranges; `count` of them within `interval` trips the
  backend for `tripDuration`, or, with `acceptRetryAfter`, for as long as the tripping response's Retry-After
  says; a tripped backend is not called and the gateway answers 503;
- a pool sends to the highest priority group (lowest number) that has a member not tripped, and inside a
  group picks by weight (equal weights: round-robin); when every member is tripped the pool answers 503
  (StatusReason "Backend pool <id> is temporarily unavailable", the phrase APIM's own load-balancing samples
  test for in their retry conditions).
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .clock import Clock
from .model import Backend, GatewayModel


@dataclass
class BreakerState:
    failures: list[datetime] = field(default_factory=list)
    tripped_until: datetime | None = None
    trips: int = 0


@dataclass
class BackendStats:
    requests: int = 0
    statuses: dict[int, int] = field(default_factory=dict)


class Unavailable(Exception):
    """Every candidate is tripped: the gateway's own 503."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def retry_after_seconds(headers: dict[str, str]) -> float | None:
    """Retry-After (seconds) or retry-after-ms, as Azure OpenAI sends them."""
    lowered = {k.lower(): v for k, v in headers.items()}
    if "retry-after-ms" in lowered:
        try:
            return float(lowered["retry-after-ms"]) / 1000.0
        except ValueError:
            pass
    if "retry-after" in lowered:
        try:
            return float(lowered["retry-after"])
        except ValueError:
            return None
    return None


class Backends:
    def __init__(self, model: GatewayModel, clock: Clock, seed: int = 12) -> None:
        self.model = model
        self.clock = clock
        self._lock = threading.Lock()
        self._seed = seed
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.breakers = {b: BreakerState() for b in self.model.backends}
            self.stats = {b: BackendStats() for b in self.model.backends}
            self._random = random.Random(self._seed)

    def tripped(self, backend_id: str) -> bool:
        state = self.breakers[backend_id]
        return state.tripped_until is not None and self.clock.now() < state.tripped_until

    def select(self, backend_id: str) -> Backend:
        """The Single backend that gets the request (raises Unavailable when none may)."""
        backend = self.model.backends[backend_id]
        with self._lock:
            if backend.type != "Pool":
                if self.tripped(backend_id):
                    raise Unavailable(f"Backend {backend_id} is temporarily unavailable")
                return backend
            for priority in sorted({m.priority for m in backend.members}):
                group = [m for m in backend.members if m.priority == priority and not self.tripped(m.backend_id)]
                if not group:
                    continue
                weights = [max(m.weight, 0) for m in group]
                if sum(weights) == 0:
                    weights = [1] * len(group)
                chosen = self._random.choices(group, weights=weights)[0]
                return self.model.backends[chosen.backend_id]
            raise Unavailable(f"Backend pool {backend_id} is temporarily unavailable")

    def record(self, backend_id: str, status: int, headers: dict[str, str]) -> None:
        """Counts the response against the backend's breaker rule."""
        backend = self.model.backends[backend_id]
        now = self.clock.now()
        with self._lock:
            stats = self.stats[backend_id]
            stats.requests += 1
            stats.statuses[status] = stats.statuses.get(status, 0) + 1
            rule = backend.rule
            if rule is None or not rule.counts(status):
                return
            state = self.breakers[backend_id]
            window_start = now - timedelta(seconds=rule.interval_seconds)
            state.failures = [t for t in state.failures if t > window_start] + [now]
            if len(state.failures) >= rule.count:
                seconds = rule.trip_seconds
                if rule.accept_retry_after:
                    asked = retry_after_seconds(headers)
                    if asked is not None:
                        seconds = asked
                state.tripped_until = now + timedelta(seconds=seconds)
                state.failures = []
                state.trips += 1

    def report(self) -> dict[str, dict[str, object]]:
        now = self.clock.now()
        with self._lock:
            result: dict[str, dict[str, object]] = {}
            for backend_id, backend in self.model.backends.items():
                state = self.breakers[backend_id]
                tripped = state.tripped_until is not None and now < state.tripped_until
                result[backend_id] = {
                    "type": backend.type,
                    "requests": self.stats[backend_id].requests,
                    "statuses": {str(k): v for k, v in sorted(self.stats[backend_id].statuses.items())},
                    "breaker": "tripped" if tripped else ("closed" if backend.rule else "none"),
                    "trippedUntil": state.tripped_until.isoformat() if tripped and state.tripped_until else None,
                    "trips": state.trips,
                }
            return result
