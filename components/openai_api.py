"""The OpenAI APIs of the gateway: two surfaces, each for key callers and, with Entra ID callers, for them.

Surfaces (which URL each client builds: the openai SDK's `lib/azure.py`, where only the deployment endpoints of
`_deployments_endpoints` get `/deployments/{model}`; everything else, `/responses` included, goes to
`{azure_endpoint}/openai/<path>`):
- dated: `/openai/deployments/{deployment-id}/...?api-version=2024-10-21`, imported from the pinned GA inference
  specification, for `AzureOpenAI` clients; plus the Responses operations `AzureOpenAI` sends to
  `/openai/responses?api-version=...`, which the dated specification does not have (DATED_RESPONSES_OPERATIONS).
- v1: `/openai/v1/...` (no `api-version`, the model named in the body), imported from the pinned GA v1
  specification, for `OpenAI(base_url=<gateway>/openai/v1/)`.
Every API carries the same policy document (fragments/api-policy.xml.j2, rendered with the API's surface and
path) over the same fragments: openai-request resolves the deployment for either surface, everything after it
reads the variables it sets.

Why an API per caller kind: an API with `subscriptionRequired: false` lets Entra ID callers come without a key,
but the subscriptions article says under Considerations that a key sent to such an API is ignored (the call is
anonymous), while its summary table suggests the key still selects the subscription
(learn.microsoft.com/azure/api-management/api-management-subscriptions). Under the first reading key callers
would lose their product policies (allow-list, token limit, quota). So key callers keep APIs that require a
key (`/openai`, `/openai/v1`), and Entra ID callers get their own (`/entra/openai`, `/entra/openai/v1`) that never
require one and always demand a token; all include the same fragments and draw on the same counters (keyed on
the consumer's subscription id and consumer id), so behaviour depends on neither reading.

Per API: the policy, the Application Insights diagnostic (metrics for llm-emit/azure-openai-emit-token-metric)
and, through an ARM deployment, the Azure Monitor diagnostic with `largeLanguageModel` logging (2025-09-01-preview),
which writes each request's exact token counts, streamed calls included, to ApiManagementGatewayLlmLog through
the service's diagnostic setting (learn.microsoft.com/azure/api-management/api-management-howto-llm-logs).
Message bodies are not logged: `maxSizeInBytes` 0 for requests and responses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pulumi
from pulumi_azure_native import apimanagement

from .arm_deployment import arm_deployment
from .diagnostics import no_payload_logging
from .gateway_fragments import HEADERS
from .waits import waiting

Surface = Literal["dated", "v1"]

# Azure OpenAI inference API, GA 2024-10-21, pinned to a commit of the Azure REST API specs.
OPENAI_SPEC_URL = (
    "https://raw.githubusercontent.com/Azure/azure-rest-api-specs/132b90d1f06386034a6c2b34e903dbd3b03f9806/"
    "specification/cognitiveservices/data-plane/AzureOpenAI/inference/stable/2024-10-21/inference.json"
)
# Azure OpenAI v1 data plane, GA ("release_v1" of specification/ai/data-plane/OpenAI.v1/readme.md), pinned.
# Its servers entry is "{endpoint}/openai/v1"; its operations: tools/emulator/specs/azure-openai-v1.operations.json.
V1_SPEC_URL = (
    "https://raw.githubusercontent.com/Azure/azure-rest-api-specs/0723d852ed5d4c0b95f331ce6f37833be70ea019/"
    "specification/ai/data-plane/OpenAI.v1/azure-v1-v1-generated.json"
)
SPEC_URLS: dict[Surface, str] = {"dated": OPENAI_SPEC_URL, "v1": V1_SPEC_URL}
DESCRIPTIONS: dict[Surface, str] = {
    "dated": "Azure OpenAI inference API (2024-10-21) and the Responses API behind the GenAI gateway",
    "v1": "Azure OpenAI v1 API (model in the body, no api-version) behind the GenAI gateway",
}
LLM_LOGGING_API_VERSION = "2025-09-01-preview"
AZURE_MONITOR_LOGGER = "azuremonitor"
AZURE_MONITOR_DIAGNOSTIC = "azuremonitor"
LLM_LOGGING_DEPLOYMENT = "genai-gateway-llm-logging"


@dataclass(frozen=True)
class ApiSpec:
    api_id: str
    path: str
    display_name: str
    subscription_required: bool
    # Whether this API's callers are Entra ID applications (its policy includes entra-consumers).
    entra_id: bool
    surface: Surface = "dated"

    @property
    def spec_url(self) -> str:
        return SPEC_URLS[self.surface]


KEY_API = ApiSpec("azure-openai", "openai", "Azure OpenAI", subscription_required=True, entra_id=False)
ENTRA_API = ApiSpec(
    "azure-openai-entra", "entra/openai", "Azure OpenAI (Entra ID callers)", subscription_required=False, entra_id=True
)
KEY_V1_API = ApiSpec(
    "azure-openai-v1", "openai/v1", "Azure OpenAI v1", subscription_required=True, entra_id=False, surface="v1"
)
ENTRA_V1_API = ApiSpec(
    "azure-openai-v1-entra", "entra/openai/v1", "Azure OpenAI v1 (Entra ID callers)",
    subscription_required=False, entra_id=True, surface="v1",
)


def api_specs(entra_id_enabled: bool) -> list[ApiSpec]:
    keyed = [KEY_API, KEY_V1_API]
    return [*keyed, ENTRA_API, ENTRA_V1_API] if entra_id_enabled else keyed


@dataclass(frozen=True)
class ExtraOperation:
    operation_id: str
    method: str
    url_template: str
    display_name: str


# The Responses API on the dated path, as AzureOpenAI calls it (api-version stays in the query, unmatched).
DATED_RESPONSES_OPERATIONS = (
    ExtraOperation("responses-create", "POST", "/responses", "Create a response"),
    ExtraOperation("responses-get", "GET", "/responses/{response_id}", "Retrieve a response"),
    ExtraOperation("responses-delete", "DELETE", "/responses/{response_id}", "Delete a response"),
    ExtraOperation("responses-input-items", "GET", "/responses/{response_id}/input_items", "List input items"),
    ExtraOperation("responses-cancel", "POST", "/responses/{response_id}/cancel", "Cancel a background response"),
)


@dataclass(frozen=True)
class DeclaredApi:
    spec: ApiSpec
    api: apimanagement.Api
    policy: apimanagement.ApiPolicy


def declare_api(
    name: str,
    spec: ApiSpec,
    *,
    policy: str,
    resource_group_name: pulumi.Input[str],
    apim_name: pulumi.Input[str],
    apim_id: pulumi.Input[str],
    app_insights_logger_id: pulumi.Input[str],
    log_client_ip: bool,
    sampling_percentage: float,
    policy_depends_on: Sequence[pulumi.Resource],
    parent: pulumi.Resource,
    policy_waits_for: Sequence[pulumi.Input[str]] = (),
) -> DeclaredApi:
    """The API (which waits for the service: its id), its policy, operations and diagnostic.

    `policy_waits_for`: ids of resources another component declared (included fragments) that the policy names.
    """
    api = apimanagement.Api(
        name,
        api_id=spec.api_id,
        display_name=spec.display_name,
        description=f"{DESCRIPTIONS[spec.surface]}, at /{spec.path}",
        path=spec.path,
        protocols=["https"],
        format="openapi+json-link",
        value=spec.spec_url,
        api_type="http",
        subscription_required=spec.subscription_required,
        # AzureOpenAI sends the key as api-key. APIM reads a subscription key only from the header or query
        # parameter named here, verbatim: "Authorization: Bearer <key>" (the plain OpenAI client) is no key to
        # it, so that client adds default_headers={"api-key": key} (README, examples/sdk/). Set explicitly: an
        # OpenAPI import may otherwise take the names from the specification's apiKey security schemes (the v1
        # specification declares both api-key and authorization).
        # https://learn.microsoft.com/azure/api-management/api-management-subscriptions
        subscription_key_parameter_names=apimanagement.SubscriptionKeyParameterNamesContractArgs(
            header="api-key", query="api-key"
        ),
        resource_group_name=resource_group_name,
        service_name=waiting(apim_name, apim_id),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    operations = (
        [_extra_operation(name, api, op, spec, resource_group_name, apim_name) for op in DATED_RESPONSES_OPERATIONS]
        if spec.surface == "dated"
        else []
    )
    policy_service_name = waiting(apim_name, *policy_waits_for) if policy_waits_for else apim_name
    api_policy = apimanagement.ApiPolicy(
        f"{name}-policy",
        api_id=api.name,
        policy_id="policy",
        format="rawxml",
        value=policy,
        resource_group_name=resource_group_name,
        service_name=policy_service_name,
        opts=pulumi.ResourceOptions(parent=api, depends_on=[*policy_depends_on, *operations]),
    )
    no_payload = no_payload_logging()
    apimanagement.ApiDiagnostic(
        f"{name}-diagnostic",
        api_id=api.name,
        diagnostic_id="applicationinsights",
        logger_id=app_insights_logger_id,
        always_log="allErrors",
        http_correlation_protocol="W3C",
        log_client_ip=log_client_ip,
        metrics=True,
        verbosity="information",
        sampling=apimanagement.SamplingSettingsArgs(sampling_type="fixed", percentage=sampling_percentage),
        frontend=apimanagement.PipelineDiagnosticSettingsArgs(request=no_payload, response=no_payload),
        backend=apimanagement.PipelineDiagnosticSettingsArgs(request=no_payload, response=no_payload),
        resource_group_name=resource_group_name,
        service_name=apim_name,
        opts=pulumi.ResourceOptions(parent=api),
    )
    return DeclaredApi(spec, api, api_policy)


def _extra_operation(
    prefix: str,
    api: apimanagement.Api,
    op: ExtraOperation,
    spec: ApiSpec,
    resource_group_name: pulumi.Input[str],
    apim_name: pulumi.Input[str],
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
        description=f"Responses API as AzureOpenAI calls it; added next to {spec.spec_url}",
        resource_group_name=resource_group_name,
        service_name=apim_name,
        opts=pulumi.ResourceOptions(parent=api),
    )


def llm_diagnostic(api_id: str, log_client_ip: bool) -> dict[str, object]:
    """The API's Azure Monitor diagnostic with LLM logging, as an ARM template resource."""
    return {
        "type": "Microsoft.ApiManagement/service/apis/diagnostics",
        "apiVersion": LLM_LOGGING_API_VERSION,
        "name": f"[format('{{0}}/{api_id}/{AZURE_MONITOR_DIAGNOSTIC}', parameters('serviceName'))]",
        "properties": {
            "loggerId": (
                "[resourceId('Microsoft.ApiManagement/service/loggers', parameters('serviceName'), "
                f"'{AZURE_MONITOR_LOGGER}')]"
            ),
            "alwaysLog": "allErrors",
            "logClientIp": log_client_ip,
            "verbosity": "information",
            "sampling": {"samplingType": "fixed", "percentage": 100},
            # At API scope this diagnostic replaces the service's: log the one header the quota alerts read
            # (components/alerts.py), the remaining quota; no other header, no body.
            "frontend": {
                "request": _no_payload(),
                "response": _no_payload(HEADERS.remaining_quota_tokens),
            },
            "backend": {"request": _no_payload(), "response": _no_payload()},
            # Token counts for every request; no prompt or completion text (no message bytes).
            "largeLanguageModel": {
                "logs": "enabled",
                "requests": {"maxSizeInBytes": 0},
                "responses": {"maxSizeInBytes": 0},
            },
        },
    }


def _no_payload(*headers: str) -> dict[str, object]:
    return {"headers": list(headers), "body": {"bytes": 0},
            "dataMasking": {"queryParams": [{"value": "api-key", "mode": "Hide"}]}}


def declare_llm_logging(
    name: str,
    apis: Sequence[DeclaredApi],
    *,
    resource_group_name: pulumi.Input[str],
    apim_name: pulumi.Input[str],
    apim_id: pulumi.Input[str],
    log_client_ip: bool,
    parent: pulumi.Resource,
) -> apimanagement.Logger:
    # The service's Azure Monitor logger (the resource logs' destination); declared so the diagnostic never
    # depends on whether the service created it itself.
    logger = apimanagement.Logger(
        f"{name}-azuremonitor-logger",
        logger_id=AZURE_MONITOR_LOGGER,
        logger_type=apimanagement.LoggerType.AZURE_MONITOR,
        is_buffered=True,
        description="Azure Monitor resource logs (ApiManagementGatewayLogs, ApiManagementGatewayLlmLog)",
        resource_group_name=resource_group_name,
        service_name=waiting(apim_name, apim_id),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    arm_deployment(
        f"{name}-llm-logging",
        deployment_name=LLM_LOGGING_DEPLOYMENT,
        resource_group_name=resource_group_name,
        declared=[llm_diagnostic(a.spec.api_id, log_client_ip) for a in apis],
        parameters={"serviceName": apim_name},
        parent=parent,
        depends_on=[logger, *(a.api for a in apis)],
    )
    return logger
