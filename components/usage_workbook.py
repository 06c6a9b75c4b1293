"""UsageWorkbook: an Azure Monitor workbook that charts how the gateway is used.

Tokens by consumer and by deployment (the `azure-openai-emit-token-metric` custom metrics, which workspace-based
Application Insights stores in the workspace's `AppMetrics` table), throttling (429 and 503 rates),
spill-over share (requests and tokens served by pay-as-you-go instead of PTU backends) and the semantic
cache hit ratio (the last three from the gateway resource logs, `ApiManagementGatewayLogs`, and the
generative AI gateway logs, `ApiManagementGatewayLlmLog`, which each API's LLM logging fills; see
components/openai_api.py). Every query runs against the gateway's Log Analytics workspace, which is the
workbook's source, and covers every OpenAI API of the gateway (`ApiId` is the prefix of their ids).

The workbook itself is a data file, `workbooks/usage.workbook.json`, that opens as it is in the
workbook editor. The stack sets only the values of its hidden parameters (`ApiId`, `BackendTiers`) and
its fallback resource (the workspace); the queries are never assembled in Python.
"""


import json
import re
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NotRequired, TypedDict
from urllib.parse import urlparse

import pulumi
from pulumi_azure_native import applicationinsights

from .gateway_policies import API_ID

WORKBOOK_PATH = Path(__file__).resolve().parent / "workbooks" / "usage.workbook.json"
WORKBOOK_VERSION = "Notebook/1.0"
# Fixed part of the workbook's GUID name: one usage workbook per resource group, stable across runs.
WORKBOOK_KEY = "genai-gateway-usage-workbook"
TIERS = ("ptu", "paygo")
# Backend ids and host names go into a KQL dynamic literal: only characters that need no escaping.
_SAFE_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]*$")


def workbook_name(resource_group_name: str) -> str:
    """The workbook's resource name: a GUID derived from the resource group, the same on every run."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{resource_group_name}/{WORKBOOK_KEY}"))


def load_workbook_template(path: Path = WORKBOOK_PATH) -> dict[str, Any]:
    return json.loads(path.read_text())


def workbook_parameters(document: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Every parameter of the document's parameter items, by name."""
    found: dict[str, dict[str, Any]] = {}
    for item in document.get("items", []):
        if item.get("type") == 9:
            for parameter in item["content"].get("parameters", []):
                found[parameter["name"]] = parameter
    return found


def render_workbook(
    workspace_id: str, api_id: str, backend_tiers: Mapping[str, str], path: Path = WORKBOOK_PATH,
    consumer_quotas: Mapping[str, int] | None = None,
) -> str:
    """The workbook's serialized data: the template with its stack-specific parameter values set."""
    for key, tier in backend_tiers.items():
        if not _SAFE_KEY.match(key) or tier not in TIERS:
            raise ValueError(f"backend tier entry {key!r}: {tier!r} is not a backend id or host with a tier")
    document = load_workbook_template(path)
    parameters = workbook_parameters(document)
    values = {
        "ApiId": api_id,
        # A JSON object is also a KQL dynamic literal: `let tiers = dynamic({BackendTiers});`.
        "BackendTiers": json.dumps(dict(sorted(backend_tiers.items())), separators=(",", ":")),
        # Budget burn: consumer name (the metric's Consumer dimension) -> monthly token quota.
        "ConsumerQuotas": json.dumps(dict(sorted(_quotas(consumer_quotas or {}).items())), separators=(",", ":")),
    }
    for name, value in values.items():
        if name not in parameters:
            raise KeyError(f"{path.name} has no parameter {name!r}")
        parameters[name]["value"] = value
    document["fallbackResourceIds"] = [workspace_id]
    return json.dumps(document, separators=(",", ":"))


def _quotas(quotas: Mapping[str, int]) -> dict[str, int]:
    for name, tokens in quotas.items():
        if not _SAFE_KEY.match(name) or not isinstance(tokens, int) or tokens <= 0:
            raise ValueError(f"consumer quota {name!r}: {tokens!r} is not a consumer name with a positive quota")
    return dict(quotas)


def endpoint_host(endpoint: str) -> str:
    """`https://<subdomain>.openai.azure.com/` -> `<subdomain>.openai.azure.com`."""
    return urlparse(endpoint).hostname or endpoint


class EndpointTier(TypedDict):
    """The tier of an account endpoint: the host in the logged backend URL, for requests routed via a pool."""

    endpoint: pulumi.Input[str]  # e.g. https://<subdomain>.openai.azure.com/
    tier: str  # "ptu" | "paygo"


class UsageWorkbookArgs(TypedDict):
    """Inputs of UsageWorkbook: plain values, no stack settings."""

    resource_group_name: pulumi.Input[str]
    location: str
    # The resource name, a GUID (see `workbook_name`).
    name: str
    display_name: str
    # The Log Analytics workspace every query runs against; it is also the workbook's source.
    workspace_id: pulumi.Input[str]
    # Tier of each single backend, by backend id (`openai-<account>`): what the gateway logs name.
    backend_tiers: dict[str, str]
    # The gateway's API id (GatewayPolicies' API_ID) the queries filter on.
    api_id: NotRequired[str]
    endpoint_tiers: NotRequired[list[EndpointTier]]
    tags: NotRequired[dict[str, str]]
    # Monthly token quota by consumer name, for the budget-burn chart.
    consumer_quotas: NotRequired[dict[str, int]]


class UsageWorkbook(pulumi.ComponentResource):
    """An Azure Monitor workbook of token usage by consumer, deployment and tier, throttling and cache hits."""

    workbook_id: pulumi.Output[str]

    def __init__(self, name: str, args: UsageWorkbookArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("genai-gateway:observability:UsageWorkbook", name, None, opts)
        tiers = list(args.get("endpoint_tiers", []))
        endpoints = [t["endpoint"] for t in tiers]
        api_id, backend_tiers = args.get("api_id", API_ID), dict(args["backend_tiers"])
        quotas = dict(args.get("consumer_quotas", {}))
        serialized = pulumi.Output.all(args["workspace_id"], *endpoints).apply(
            lambda values: render_workbook(
                workspace_id=values[0],
                api_id=api_id,
                backend_tiers={
                    **{endpoint_host(e): t["tier"] for e, t in zip(values[1:], tiers, strict=True)},
                    **backend_tiers,
                },
                consumer_quotas=quotas,
            )
        )
        self.workbook = applicationinsights.Workbook(
            f"{name}-usage",
            resource_name_=args["name"],
            resource_group_name=args["resource_group_name"],
            location=args["location"],
            kind="shared",
            category="workbook",
            display_name=args["display_name"],
            description="Tokens by consumer and deployment, throttling, spill-over share and cache hit ratio",
            source_id=args["workspace_id"],
            serialized_data=serialized,
            version=WORKBOOK_VERSION,
            tags=dict(args.get("tags", {})),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.workbook_id = self.workbook.id
        self.register_outputs({"workbookId": self.workbook_id})
