"""Prompt checks: llm-content-safety."""

from __future__ import annotations

import json
import time

from lxml import etree

from .. import tokens
from ..context import RequestState, as_text
from ..pipeline import Executor, PolicyFailure, policy
from .limits import request_json

CATEGORIES = ("Hate", "SelfHarm", "Sexual", "Violence")


@policy("llm-content-safety", sections=("inbound",), children=("categories", "blocklists"))
def llm_content_safety(ex: Executor, element: etree._Element, state: RequestState, level: int) -> None:
    """https://learn.microsoft.com/azure/api-management/llm-content-safety-policy: sends the prompt to the
    Azure AI Content Safety backend `backend-id` (text:analyze for the categories, text:shieldPrompt when
    shield-prompt is true) and refuses the request with 403 when a category's severity reaches its threshold
    or an attack is detected. The emulator calls the simulated Content Safety account over HTTP with the
    backend's credentials, so a wrong key or backend fails as it would in Azure."""
    backend_id = as_text(ex.attr(element, "backend-id", state))
    shield = str(ex.attr(element, "shield-prompt", state, "false")).lower() == "true"
    thresholds: dict[str, int] = {}
    categories = element.find("categories")
    if categories is not None:
        for category in categories:
            if isinstance(category.tag, str) and category.tag == "category":
                name = category.get("name", "")
                if name not in CATEGORIES:
                    raise ValueError(f"<category name={name!r}> is not one of {', '.join(CATEGORIES)}")
                thresholds[name] = int(category.get("threshold", "0"))
    if element.find("blocklists") is not None:
        raise NotImplementedError("llm-content-safety blocklists")
    text = tokens.prompt_text(request_json(state))
    waited = time.perf_counter()
    blocked: list[str] = []
    if thresholds:
        answer = ex.gateway.content_safety_call(
            backend_id,
            "/contentsafety/text:analyze",
            {
                "text": text,
                "outputType": categories.get("output-type", "FourSeverityLevels")
                if categories is not None
                else "FourSeverityLevels",
            },
        )
        for item in answer.get("categoriesAnalysis", []):
            name = item.get("category")
            if name in thresholds and int(item.get("severity", 0)) >= thresholds[name]:
                blocked.append(name)
    if shield:
        answer = ex.gateway.content_safety_call(
            backend_id, "/contentsafety/text:shieldPrompt", {"userPrompt": text, "documents": []}
        )
        if (answer.get("userPromptAnalysis") or {}).get("attackDetected"):
            blocked.append("PromptAttack")
    state.backend_ms += (time.perf_counter() - waited) * 1000.0
    if blocked:
        message = "The request was blocked by content safety."
        raise PolicyFailure(
            "llm-content-safety",
            "ContentSafetyBlocked",
            f"{message} ({', '.join(blocked)})",
            403,
            {},
            json.dumps({"statusCode": 403, "message": message}),
        )
