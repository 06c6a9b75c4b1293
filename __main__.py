"""GenAI gateway: load the stack's settings, compose the components, export what app teams need."""

import pulumi

from components.apim_baseline import ApimBaseline, ApimBaselineArgs
from components.gateway_policies import API_PATH, GatewayPolicies, GatewayPoliciesArgs
from components.private_openai import PrivateOpenAI, PrivateOpenAIArgs
from components.settings import settings_from_pulumi_config
from components.token_telemetry import TokenTelemetryHub, TokenTelemetryHubArgs

settings = settings_from_pulumi_config()

baseline = ApimBaseline("gateway", ApimBaselineArgs.from_settings(settings))
openai = PrivateOpenAI("openai", PrivateOpenAIArgs.from_settings(settings, baseline))
telemetry = TokenTelemetryHub("telemetry", TokenTelemetryHubArgs.from_settings(settings, baseline))
policies = GatewayPolicies("policies", GatewayPoliciesArgs.from_settings(settings, baseline, openai, telemetry))

pulumi.export("resourceGroupName", baseline.resource_group_name)
pulumi.export("apimName", baseline.apim_name)
pulumi.export("gatewayUrl", baseline.public_base_url)
pulumi.export("apimGatewayUrl", baseline.gateway_url)
pulumi.export("gatewayIdentityClientId", baseline.identity.client_id)
# Non-secret: per account its tier (a simulated PTU says so), region, endpoint, backend URL and deployments.
pulumi.export("openaiAccounts", openai.summary)
pulumi.export(
    "usageEventHub", {"namespace": telemetry.namespace_name, "eventHub": telemetry.event_hub_name}
)

# For app teams: the base URL an OpenAI SDK takes, the deployments, and per consumer its access.
pulumi.export("openaiBaseUrl", baseline.public_base_url.apply(lambda url: f"{url}/{API_PATH}"))
pulumi.export("deployments", sorted({d.name for a in settings.openai.accounts for d in a.deployments}))
pulumi.export(
    "consumers",
    {
        c.name: {
            "productId": c.product_id,
            "deployments": list(c.deployments),
            "tokensPerMinute": c.tokens_per_minute,
            "tokenQuota": c.token_quota,
            "tokenQuotaPeriod": c.token_quota_period,
        }
        for c in policies.consumers
    },
)
# Subscription keys only as secrets: `pulumi stack output consumerKeys --show-secrets`.
pulumi.export("consumerKeys", pulumi.Output.secret({c.name: c.primary_key for c in policies.consumers}))
