"""The OpenAI APIs of the gateway: one for key callers and, with Entra ID callers, one for them.

Why two: an API with `subscriptionRequired: false` lets Entra ID callers come without a key, but the
subscriptions article says under Considerations that a key sent to such an API is ignored (the call is
anonymous), while its summary table suggests the key still selects the subscription
(learn.microsoft.com/azure/api-management/api-management-subscriptions). Under the first reading key callers
would lose their product policies (allow-list, token limit, quota). So key callers keep an API that requires a
key (`/openai`), and Entra ID callers get their own (`/entra/openai`) that never requires one and always demands
a token; both include the same fragments and draw on the same counters (keyed on the consumer's subscription
id and consumer id), so behaviour depends on neither reading.

Per API: the policy, the Application Insights diagnostic (metrics for llm-emit/azure-openai-emit-token-metric)
and, through an ARM deployment, the Azure Monitor diagnostic with `largeLanguageModel` logging (2025-09-01-preview),
which writes each request's exact token counts, streamed calls included, to ApiManagementGatewayLlmLog through
the service's diagnostic setting (learn.microsoft.com/azure/api-management/api-management-howto-llm-logs).
Message bodies are not logged: `maxSizeInBytes` 0 for requests and responses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import apimanagement

from .arm_deployment import arm_deployment
from .diagnostics import no_payload_logging
from .gateway_fragments import HEADERS

# Azure OpenAI inference API, GA 2024-10-21, pinned to a commit of the Azure REST API specs.
OPENAI_SPEC_URL = (
    "https://raw.githubusercontent.com/Azure/azure-rest-api-specs/132b90d1f06386034a6c2b34e903dbd3b03f9806/"
    "specification/cognitiveservices/data-plane/AzureOpenAI/inference/stable/2024-10-21/inference.json"
)
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


KEY_API = ApiSpec("azure-openai", "openai", "Azure OpenAI", subscription_required=True, entra_id=False)
ENTRA_API = ApiSpec(
    "azure-openai-entra", "entra/openai", "Azure OpenAI (Entra ID callers)", subscription_required=False, entra_id=True
)


def api_specs(entra_id_enabled: bool) -> list[ApiSpec]:
    return [KEY_API, ENTRA_API] if entra_id_enabled else [KEY_API]


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
    apim: pulumi.Resource,
    app_insights_logger_id: pulumi.Input[str],
    log_client_ip: bool,
    sampling_percentage: float,
    policy_depends_on: Sequence[pulumi.Resource],
    parent: pulumi.Resource,
) -> DeclaredApi:
    api = apimanagement.Api(
        name,
        api_id=spec.api_id,
        display_name=spec.display_name,
        description=f"Azure OpenAI inference API (2024-10-21) behind the GenAI gateway, at /{spec.path}",
        path=spec.path,
        protocols=["https"],
        format="openapi+json-link",
        value=OPENAI_SPEC_URL,
        api_type="http",
        subscription_required=spec.subscription_required,
        # The official OpenAI SDKs send the key as api-key: they work unchanged against the gateway.
        subscription_key_parameter_names=apimanagement.SubscriptionKeyParameterNamesContractArgs(
            header="api-key", query="api-key"
        ),
        resource_group_name=resource_group_name,
        service_name=apim_name,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[apim]),
    )
    api_policy = apimanagement.ApiPolicy(
        f"{name}-policy",
        api_id=api.name,
        policy_id="policy",
        format="rawxml",
        value=policy,
        resource_group_name=resource_group_name,
        service_name=apim_name,
        opts=pulumi.ResourceOptions(parent=api, depends_on=list(policy_depends_on)),
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
    apim: pulumi.Resource,
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
        service_name=apim_name,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[apim]),
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
