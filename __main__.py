"""GenAI gateway: load the stack's settings, compose the components, export what app teams need."""

import pulumi

import composition
from components.alerts import GatewayAlerts
from components.apim_baseline import ApimBaseline
from components.consumer_keys import ConsumerKeyVault, consumer_key_output
from components.content_safety import ContentSafety
from components.gateway_inputs import IncludedFragment
from components.gateway_policies import API_PATH, ENTRA_API_PATH, ENTRA_V1_API_PATH, V1_API_PATH, GatewayPolicies
from components.private_openai import PrivateOpenAI
from components.semantic_cache import SemanticCache
from components.settings import settings_from_pulumi_config
from components.token_telemetry import TokenTelemetryHub
from components.usage_workbook import UsageWorkbook

settings = settings_from_pulumi_config()

baseline = ApimBaseline("gateway", composition.baseline_args(settings))
openai = PrivateOpenAI("openai", composition.openai_args(settings, baseline))
telemetry = TokenTelemetryHub("telemetry", composition.telemetry_args(settings, baseline))
content_safety = (
    ContentSafety("safety", composition.content_safety_args(settings, baseline))
    if settings.content_safety.enabled
    else None
)

# Optional capabilities that own a policy fragment; the API policy includes them in this order.
included: list[IncludedFragment] = []
# Safety first: a harmful prompt is refused before a cached answer could be served for it.
if content_safety is not None:
    included.append({
        "fragment_id": content_safety.fragment_id, "section": "inbound",
        "resource_id": content_safety.policy_fragment_id,
    })
if settings.semantic_cache.enabled:
    cache = SemanticCache("cache", composition.semantic_cache_args(settings, baseline, openai))
    included += [
        {"fragment_id": cache.lookup_fragment_id, "section": "inbound", "resource_id": cache.lookup_policy_fragment_id},
        {"fragment_id": cache.store_fragment_id, "section": "outbound", "resource_id": cache.store_policy_fragment_id},
    ]

policies = GatewayPolicies(
    "policies", composition.gateway_policies_args(settings, baseline, openai, telemetry, included)
)
if settings.observability.usage_workbook:
    workbook = UsageWorkbook("workbook", composition.usage_workbook_args(settings, baseline, openai))
    pulumi.export("usageWorkbookId", workbook.workbook_id)
if settings.alerts.enabled:
    # After the policies: they declare the azuremonitor logger and return the header the quota rules read.
    GatewayAlerts("alerts", composition.alerts_args(settings, baseline, openai, policies))

pulumi.export("resourceGroupName", baseline.resource_group_name)
pulumi.export("apimName", baseline.apim_name)
pulumi.export("gatewayUrl", baseline.public_base_url)
pulumi.export("apimGatewayUrl", baseline.gateway_url)
pulumi.export("gatewayIdentityClientId", baseline.identity_client_id)
# Non-secret: per account its tier (a simulated PTU says so), region, endpoint, backend URL and deployments.
pulumi.export("openaiAccounts", openai.summary)
pulumi.export(
    "usageEventHub", {"namespace": telemetry.namespace_name, "eventHub": telemetry.event_hub_name}
)

budgets = {
    c.name: {"amount": c.monthly_budget.amount, "currency": c.monthly_budget.currency}
    for c in settings.consumers if c.monthly_budget is not None
}
# For app teams: the base URL an OpenAI SDK takes, the deployments, and per consumer its access.
# openaiBaseUrl: the dated API (AzureOpenAI(azure_endpoint=<it without /openai>)); openaiV1BaseUrl: the v1 API
# (OpenAI(base_url=<it>)). Model aliases are names either API accepts for a deployment.
pulumi.export("openaiBaseUrl", baseline.public_base_url.apply(lambda url: f"{url}/{API_PATH}"))
pulumi.export("openaiV1BaseUrl", baseline.public_base_url.apply(lambda url: f"{url}/{V1_API_PATH}/"))
if settings.entra_id.enabled:
    # Entra ID callers have their own APIs (README, "Entra ID callers"): an Azure OpenAI SDK takes `.../entra`,
    # a plain OpenAI client `.../entra/openai/v1/`.
    pulumi.export("entraOpenaiBaseUrl", baseline.public_base_url.apply(lambda url: f"{url}/{ENTRA_API_PATH}"))
    pulumi.export("entraOpenaiV1BaseUrl", baseline.public_base_url.apply(lambda url: f"{url}/{ENTRA_V1_API_PATH}/"))
pulumi.export("deployments", sorted({d.name for a in settings.openai.accounts for d in a.deployments}))
# Consumers whose team names its Entra principal get their key in a Key Vault secret only that principal reads.
key_vault = (
    ConsumerKeyVault(
        "keys",
        composition.consumer_keys_args(settings, baseline, policies),
    )
    if any(c.key_vault_reader is not None for c in settings.consumers)
    else None
)
key_secrets: pulumi.Output[dict[str, str]] = (
    key_vault.secret_uris if key_vault is not None else pulumi.Output.from_input({})
)


def secret_uri(consumer: str) -> pulumi.Output[str | None]:
    return key_secrets.apply(lambda uris: uris.get(consumer))


pulumi.export("modelAliases", dict(settings.routing.aliases))
pulumi.export(
    "consumers",
    {
        c.name: {
            "productId": c.product_id,
            "deployments": list(c.deployments),
            "tokensPerMinute": c.tokens_per_minute,
            "tokenQuota": c.token_quota,
            "tokenQuotaPeriod": c.token_quota_period,
            # Tokens a month the consumer's currency budget buys (see README, "Currency budgets").
            "budgetTokenQuota": c.budget_token_quota,
            # The stack output that holds its key, and (with keyVaultReader) the Key Vault secret that does.
            "keyOutput": consumer_key_output(c.name),
            "keyVaultSecretUri": secret_uri(c.name),
            # The money behind it, for chargeback's budget burn (python -m tools.chargeback --plan).
            "monthlyBudget": budgets.get(c.name),
        }
        for c in policies.consumers
    },
)
# One secret output per consumer (never one map of every team's key): a team reads only its own,
# `pulumi stack output consumerKey-<name> --show-secrets` or `StackReference.require_output(...)`.
for c in policies.consumers:
    pulumi.export(consumer_key_output(c.name), pulumi.Output.secret(c.primary_key))
