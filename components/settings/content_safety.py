"""Content safety: `llm-content-safety` checks every prompt with Azure AI Content Safety before a model sees it.

Thresholds follow the policy reference (learn.microsoft.com/azure/api-management/llm-content-safety-policy):
with `FourSeverityLevels` Content Safety reports severities 0, 2, 4 and 6, with `EightSeverityLevels` 0 to 7,
and a request is blocked when a category's severity is at or above its threshold. A threshold of 0 would
therefore block every request (every text has a severity of at least 0): leave a category out (null) to not
check it instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from .base import Model, Problem
from .forms import REGION, matching

if TYPE_CHECKING:
    from . import GatewaySettings

OutputType = Literal["FourSeverityLevels", "EightSeverityLevels"]
# The severities each output type reports, without 0 (a threshold of 0 blocks everything).
THRESHOLDS: dict[str, tuple[int, ...]] = {
    "FourSeverityLevels": (2, 4, 6),
    "EightSeverityLevels": (1, 2, 3, 4, 5, 6, 7),
}
# Medium and above, like the default content filter of Azure OpenAI.
DEFAULT_THRESHOLD = 4


class CategoryThresholds(Model):
    """Per harm category the severity at which a prompt is blocked; null leaves the category unchecked."""

    # The config keys are the category names of the policy (`<category name="SelfHarm">`).
    hate: int | None = Field(DEFAULT_THRESHOLD, alias="Hate", ge=0, le=7)
    self_harm: int | None = Field(DEFAULT_THRESHOLD, alias="SelfHarm", ge=0, le=7)
    sexual: int | None = Field(DEFAULT_THRESHOLD, alias="Sexual", ge=0, le=7)
    violence: int | None = Field(DEFAULT_THRESHOLD, alias="Violence", ge=0, le=7)

    def checked(self) -> list[tuple[str, int]]:
        """(policy category name, threshold) of every checked category, in the policy's order."""
        return [
            (type(self).model_fields[field].alias or field, value)
            for field, value in (
                ("hate", self.hate),
                ("self_harm", self.self_harm),
                ("sexual", self.sexual),
                ("violence", self.violence),
            )
            if value is not None
        ]


class ContentSafetySettings(Model):
    enabled: bool = False
    # Region of the Content Safety account; defaults to the gateway's location. Prompt Shields is not offered
    # in every region (learn.microsoft.com/azure/ai-services/content-safety/region-availability): pick one that
    # has it when `shieldPrompt` is on.
    location: str | None = matching(REGION, None)
    # Prompt Shields: blocks user prompt attacks (jailbreaks).
    shield_prompt: bool = True
    output_type: OutputType = "FourSeverityLevels"
    categories: CategoryThresholds = CategoryThresholds()

    def region(self, whole: GatewaySettings) -> str:
        return self.location or whole.location

    def problems(self, key: str, whole: GatewaySettings) -> Iterable[Problem]:
        if not self.enabled:
            return
        allowed = THRESHOLDS[self.output_type]
        for name, threshold in self.categories.checked():
            if threshold not in allowed:
                yield Problem(
                    f"{key}.categories.{name}",
                    str(threshold),
                    f"with outputType {self.output_type} must be one of {', '.join(map(str, allowed))}"
                    + (" (0 would block every request; set null to not check the category)" if threshold == 0 else ""),
                )
        if not self.shield_prompt and not self.categories.checked():
            yield Problem(
                f"{key}.categories",
                "no category checked",
                "check at least one category or turn shieldPrompt on: enabled content safety must check something",
            )
