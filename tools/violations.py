"""What the plan checks on a recorded stack: guardrails and policy lint (filled in by their issues)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .harness import Recording
from .policy_lint import lint_recording


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
    # Imported here: tools.guardrails builds Violation objects from this module.
    from .guardrails import guardrail_violations

    violations: list[Violation] = []
    violations.extend(guardrail_violations(recording))
    violations.extend(policy_lint_violations(recording))
    return violations


def policy_lint_violations(recording: Recording) -> list[Violation]:
    """Policy lint errors as mandatory violations; unused fragments and unknown attributes as advisory."""
    return [
        Violation("policy-lint", "mandatory" if e.level == "error" else "advisory", e.urn, str(e))
        for e in lint_recording(recording)
    ]
