"""The two OpenAI APIs the gateway serves, and what makes them one gateway rather than two.

- The dated API (`/openai/deployments/{deployment-id}/...?api-version=2024-10-21`), imported from the pinned GA
  inference specification, for existing `AzureOpenAI` clients; plus the Responses operations that `AzureOpenAI`
  sends to `/openai/responses?api-version=...` (openai SDK, `lib/azure.py`: only the deployment endpoints of
  `_deployments_endpoints` get `/deployments/{model}`; `/responses` goes to `{azure_endpoint}/openai/responses`),
  which the dated specification does not have.
- The v1 API (`/openai/v1/...`, no `api-version`, the model named in the body), imported from the pinned GA v1
  specification, for `OpenAI(base_url=<gateway>/openai/v1/)`.

Both carry the same policy document (fragments/api-policy.xml.j2, rendered with the API's name) and the same
fragments: the openai-route fragment resolves the deployment for either API, everything after it reads the
variables it sets. Products link both APIs, so a consumer's key, allow-list and limits apply to both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pulumi
from pulumi_azure_native import apimanagement

from .diagnostics import no_payload_logging

ApiName = Literal["dated", "v1"]

# Azure OpenAI inference API, GA 2024-10-21, pinned to a commit of the Azure REST API specs.
DATED_SPEC_URL = (
    "https://raw.githubusercontent.com/Azure/azure-rest-api-specs/132b90d1f06386034a6c2b34e903dbd3b03f9806/"
    "specification/cognitiveservices/data-plane/AzureOpenAI/inference/stable/2024-10-21/inference.json"
)
# Azure OpenAI v1 data plane, GA ("release_v1" of specification/ai/data-plane/OpenAI.v1/readme.md), pinned.
# Its servers entry is "{endpoint}/openai/v1"; its paths (/chat/completions, /embeddings, /responses,
# /responses/{response_id}, /responses/{response_id}/input_items, ...) sit under that prefix.
V1_SPEC_URL = (
    "https://raw.githubusercontent.com/Azure/azure-rest-api-specs/0723d852ed5d4c0b95f331ce6f37833be70ea019/"
    "specification/ai/data-plane/OpenAI.v1/azure-v1-v1-generated.json"
)


@dataclass(frozen=True)
class ApiSurface:
    name: ApiName
    api_id: str
    path: str
    display_name: str
    description: str
    spec_url: str


DATED = ApiSurface(
    "dated", "azure-openai", "openai", "Azure OpenAI",
    "Azure OpenAI inference API (2024-10-21) and the Responses API behind the GenAI gateway", DATED_SPEC_URL,
)
V1 = ApiSurface(
    "v1", "azure-openai-v1", "openai/v1", "Azure OpenAI v1",
    "Azure OpenAI v1 API (model in the body, no api-version) behind the GenAI gateway", V1_SPEC_URL,
)
SURFACES = (DATED, V1)


@dataclass(frozen=True)
class ExtraOperation:
    operation_id: str
    method: str
    url_template: str
    display_name: str


# The Responses API on the dated API's path, as AzureOpenAI calls it (api-version stays in the query, unmatched).
DATED_RESPONSES_OPERATIONS = (
    ExtraOperation("responses-create", "POST", "/responses", "Create a response"),
    ExtraOperation("responses-get", "GET", "/responses/{response_id}", "Retrieve a response"),
    ExtraOperation("responses-delete", "DELETE", "/responses/{response_id}", "Delete a response"),
    ExtraOperation("responses-input-items", "GET", "/responses/{response_id}/input_items", "List input items"),
    ExtraOperation("responses-cancel", "POST", "/responses/{response_id}/cancel", "Cancel a background response"),
)


@dataclass(frozen=True)
class ApiWiring:
    """What every API of the gateway needs from GatewayPolicies."""

    resource_group_name: pulumi.Input[str]
    apim_name: pulumi.Input[str]
    apim: pulumi.Resource
    app_insights_logger_id: pulumi.Input[str]
    subscription_required: bool
    log_client_ip: bool
    sampling_percentage: float


def declare_api(
    component: str,
    surface: ApiSurface,
    policy: str,
    wiring: ApiWiring,
    *,
    parent: pulumi.Resource,
    policy_depends_on: Sequence[pulumi.Resource],
) -> apimanagement.Api:
    """One OpenAI API with its policy and its diagnostic; logical names keep the dated API's for existing stacks."""
    prefix = f"{component}-api" if surface.name == "dated" else f"{component}-api-{surface.name}"
    rg, service = wiring.resource_group_name, wiring.apim_name
    api = apimanagement.Api(
        prefix,
        api_id=surface.api_id,
        display_name=surface.display_name,
        description=surface.description,
        path=surface.path,
        protocols=["https"],
        format="openapi+json-link",
        value=surface.spec_url,
        api_type="http",
        # With Entra ID callers the key becomes optional; the entra-consumers fragment then demands a token.
        subscription_required=wiring.subscription_required,
        # AzureOpenAI sends the key as api-key. APIM reads a subscription key only from the header or query
        # parameter named here, verbatim: "Authorization: Bearer <key>" (the plain OpenAI client) is no key to
        # it, so that client adds default_headers={"api-key": key} (README, examples/sdk/). Set explicitly: an
        # OpenAPI import may otherwise take the names from the specification's apiKey security schemes.
        # https://learn.microsoft.com/azure/api-management/api-management-subscriptions
        subscription_key_parameter_names=apimanagement.SubscriptionKeyParameterNamesContractArgs(
            header="api-key", query="api-key"
        ),
        resource_group_name=rg,
        service_name=service,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[wiring.apim]),
    )
    operations: list[pulumi.Resource] = []
    if surface.name == "dated":
        operations = [_extra_operation(prefix, api, op, wiring, surface) for op in DATED_RESPONSES_OPERATIONS]
    apimanagement.ApiPolicy(
        f"{prefix}-policy",
        api_id=api.name,
        policy_id="policy",
        format="rawxml",
        value=policy,
        resource_group_name=rg,
        service_name=service,
        opts=pulumi.ResourceOptions(parent=api, depends_on=[*policy_depends_on, *operations]),
    )
    no_payload = no_payload_logging()
    apimanagement.ApiDiagnostic(
        f"{prefix}-diagnostic",
        api_id=api.name,
        diagnostic_id="applicationinsights",
        logger_id=wiring.app_insights_logger_id,
        always_log="allErrors",
        http_correlation_protocol="W3C",
        log_client_ip=wiring.log_client_ip,
        metrics=True,
        verbosity="information",
        sampling=apimanagement.SamplingSettingsArgs(sampling_type="fixed", percentage=wiring.sampling_percentage),
        frontend=apimanagement.PipelineDiagnosticSettingsArgs(request=no_payload, response=no_payload),
        backend=apimanagement.PipelineDiagnosticSettingsArgs(request=no_payload, response=no_payload),
        resource_group_name=rg,
        service_name=service,
        opts=pulumi.ResourceOptions(parent=api),
    )
    return api


def _extra_operation(
    prefix: str, api: apimanagement.Api, op: ExtraOperation, wiring: ApiWiring, surface: ApiSurface
) -> apimanagement.ApiOperation:
    params = [p.strip("{}") for p in op.url_template.split("/") if p.startswith("{")]
    return apimanagement.ApiOperation(
        f"{prefix}-{op.operation_id}",
        api_id=api.name,
        operation_id=op.operation_id,
        display_name=op.display_name,
        method=op.method,
        url_template=op.url_template,
        template_parameters=[
            apimanagement.ParameterContractArgs(name=p, type="string", required=True) for p in params
        ],
        # Naming the pinned specification makes every new pin update these operations after the re-import,
        # which replaces the API's operations with the specification's.
        description=f"Responses API as AzureOpenAI calls it; added next to {surface.spec_url}",
        resource_group_name=wiring.resource_group_name,
        service_name=wiring.apim_name,
        opts=pulumi.ResourceOptions(parent=api),
    )
