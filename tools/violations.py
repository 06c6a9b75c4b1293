"""What the plan checks on a recorded stack: guardrails and policy lint (filled in by their issues)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .harness import Recording


@dataclass(frozen=True)
class Violation:
    policy: str
    level: str  # "mandatory" | "advisory"
    urn: str | None
    message: str

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def collect(recording: Recording) -> list[Violation]:
    """Every guardrail violation and lint error of the recorded stack."""
    return []
