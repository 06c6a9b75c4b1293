"""What the plan checks on a recorded stack: guardrails and policy lint (filled in by their issues)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .harness import Recording, leaked_secrets
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

    violations: list[Violation] = list(secret_leaks(recording))
    violations.extend(guardrail_violations(recording))
    violations.extend(policy_lint_violations(recording))
    return violations


def secret_leaks(recording: Recording) -> list[Violation]:
    """Keys, passwords or `secure:` config that reached a plain input or output (named by path, never shown)."""
    found = [
        Violation(
            "no-secret-in-plain-value",
            "mandatory",
            r.urn,
            f"{r.type.split(':', 1)[1]} '{r.name}' input {path} holds a secret value in plain text: "
            "pass it as a pulumi secret (pulumi.Output.secret) or a Key Vault reference.",
        )
        for r in recording.resources
        for path in leaked_secrets(r.inputs, recording.secrets)
    ]
    found += [
        Violation(
            "no-secret-in-plain-value",
            "mandatory",
            None,
            f"stack output {path} holds a secret value in plain text: export it with pulumi.Output.secret.",
        )
        for path in leaked_secrets(recording.outputs, recording.secrets)
    ]
    return found


def policy_lint_violations(recording: Recording) -> list[Violation]:
    """Policy lint errors as mandatory violations; unused fragments and unknown attributes as advisory."""
    return [
        Violation("policy-lint", "mandatory" if e.level == "error" else "advisory", e.urn, str(e))
        for e in lint_recording(recording)
    ]
