"""PrivateOpenAI: the model capacity the gateway fronts, reachable only through the gateway's VNet.

Per account in the settings: a locked-down Azure OpenAI account in its own region (no public network access,
no API keys, network ACLs defaulting to Deny, a globally unique custom subdomain), its model deployments
created one after another, a private endpoint in the gateway's private-endpoint subnet registered in one
shared `privatelink.openai.azure.com` zone, `Cognitive Services OpenAI User` for the gateway's identity, and
resource logs to the gateway's Log Analytics workspace.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pulumi
from pulumi_azure_native import cognitiveservices

from .access import RoleAssignmentSpec, assign_roles
from .cognitive_account import locked_down_account
from .diagnostics import DiagnosticSettingSpec, send_logs
from .naming import Naming
from .private_link import PrivateEndpointSpec, private_dns_zone, private_endpoint
from .settings import AccountSettings, GatewaySettings
from .settings.openai import ACCOUNT_ABBREVIATION, SUBDOMAIN_MAX_LENGTH

if TYPE_CHECKING:
    from .apim_baseline import ApimBaseline

OPENAI_DNS_ZONE = "privatelink.openai.azure.com"
# The sub-resource of a Cognitive Services account a private endpoint connects to.
OPENAI_GROUP_ID = "account"
INFERENCE_ROLE = "Cognitive Services OpenAI User"


@dataclass(frozen=True)
class DeployedModel:
    name: str
    model: str
    version: str
    sku: str
    capacity: int


@dataclass(frozen=True)
class OpenAIAccountEndpoint:
    key: str  # the logical account name from settings
    region: str
    tier: str  # "ptu" | "paygo"
    simulated: bool
    account_name: pulumi.Output[str]  # Azure resource name
    resource_id: pulumi.Output[str]
    endpoint: pulumi.Output[str]  # https://<subdomain>.openai.azure.com/
    backend_url: pulumi.Output[str]  # endpoint + "openai", no double slash
    deployments: tuple[DeployedModel, ...]


@dataclass(frozen=True)
class PrivateOpenAIArgs:
    accounts: Sequence[AccountSettings]
    naming: Naming
    # The gateway's region: private endpoints live next to the VNet, accounts in their own regions.
    location: str
    resource_group_name: pulumi.Input[str]
    vnet_id: pulumi.Input[str]
    private_endpoint_subnet_id: pulumi.Input[str]
    # Granted on every account (AVM vocabulary); normally the gateway's inference identity.
    role_assignments: Sequence[RoleAssignmentSpec] = ()
    diagnostic_settings: Sequence[DiagnosticSettingSpec] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    # Production keeps accounts (and with them their subdomains and deployments) from a careless destroy.
    protect_accounts: bool = False

    @classmethod
    def from_settings(cls, settings: GatewaySettings, baseline: ApimBaseline) -> PrivateOpenAIArgs:
        return cls(
            accounts=tuple(settings.openai.accounts),
            naming=baseline.naming,
            location=settings.location,
            resource_group_name=baseline.resource_group_name,
            vnet_id=baseline.vnet_id,
            private_endpoint_subnet_id=baseline.private_endpoint_subnet_id,
            role_assignments=(
                RoleAssignmentSpec(
                    INFERENCE_ROLE,
                    baseline.identity.principal_id,
                    description="APIM gateway calls Azure OpenAI with its managed identity (no keys)",
                ),
                # llm-semantic-cache-lookup calls the embeddings backend with the system-assigned identity only.
                *(
                    (
                        RoleAssignmentSpec(
                            INFERENCE_ROLE,
                            baseline.apim.identity.apply(lambda i: i.principal_id if i else ""),
                            description="APIM semantic cache embeds prompts with its system-assigned identity",
                            label="apim-system",
                        ),
                    )
                    if settings.semantic_cache.enabled
                    else ()
                ),
            ),
            # Cognitive Services accounts log to the AzureDiagnostics table only (no resource-specific tables).
            diagnostic_settings=(DiagnosticSettingSpec(baseline.workspace_id, dedicated_tables=False),),
            tags={"environment": settings.environment, "workload": "genai-gateway", **settings.tags},
            protect_accounts=settings.is_production,
        )


class PrivateOpenAI(pulumi.ComponentResource):
    accounts: list[OpenAIAccountEndpoint]
    dns_zone_id: pulumi.Output[str]
    # Non-secret summary of every account, for the stack outputs.
    summary: pulumi.Output[list[dict[str, Any]]]

    def __init__(self, name: str, args: PrivateOpenAIArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("genai-gateway:openai:PrivateOpenAI", name, None, opts)
        self._name = name
        self._args = args

        zone = private_dns_zone(
            f"{name}-dns",
            OPENAI_DNS_ZONE,
            args.resource_group_name,
            args.vnet_id,
            args.tags,
            parent=self,
        )
        self.dns_zone_id = zone.id
        self._endpoint_spec = PrivateEndpointSpec(args.private_endpoint_subnet_id, zone.id)

        self.accounts = [self._account(account) for account in args.accounts]
        self.summary = pulumi.Output.all(*[_summary(a) for a in self.accounts])

        self.register_outputs({"accounts": self.summary, "dnsZoneId": self.dns_zone_id})

    def _account(self, settings: AccountSettings) -> OpenAIAccountEndpoint:
        args = self._args
        prefix = f"{self._name}-{settings.name}"
        azure_name = args.naming.unique(ACCOUNT_ABBREVIATION, settings.name, max_length=SUBDOMAIN_MAX_LENGTH)
        account = locked_down_account(
            prefix,
            azure_name=azure_name,
            kind="OpenAI",
            location=settings.location,
            resource_group_name=args.resource_group_name,
            # `ptu-simulated` makes a Standard deployment standing in for PTU visible in every plan and portal.
            tags={**args.tags, "capacityTier": settings.capacity_tier, "openaiAccount": settings.name},
            parent=self,
            protect=args.protect_accounts,
        )

        # Azure rejects concurrent deployment operations on one account: each waits for the previous one.
        previous: list[pulumi.Resource] = []
        for deployment in settings.deployments:
            created = cognitiveservices.Deployment(
                f"{prefix}-{deployment.name}",
                deployment_name=deployment.name,
                account_name=account.name,
                resource_group_name=args.resource_group_name,
                sku=cognitiveservices.SkuArgs(name=deployment.sku, capacity=deployment.capacity),
                properties=cognitiveservices.DeploymentPropertiesArgs(
                    model=cognitiveservices.DeploymentModelArgs(
                        format="OpenAI", name=deployment.model.name, version=deployment.model.version
                    ),
                    version_upgrade_option=deployment.upgrade_option,
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=previous),
            )
            previous = [created]

        private_endpoint(
            f"{prefix}-pe",
            azure_name=args.naming.regional("pe", ACCOUNT_ABBREVIATION, settings.name),
            target_id=account.id,
            group_id=OPENAI_GROUP_ID,
            spec=self._endpoint_spec,
            resource_group_name=args.resource_group_name,
            location=args.location,
            tags=args.tags,
            parent=self,
            # Deployments are chained, so the last one finishing means the account is idle again.
            depends_on=previous,
        )
        assign_roles(f"{prefix}-role", account.id, list(args.role_assignments), parent=self)
        for i, spec in enumerate(args.diagnostic_settings):
            send_logs(f"{prefix}-logs" + (f"-{i}" if i else ""), account.id, spec, self)

        endpoint = account.properties.apply(lambda p: p.endpoint)
        return OpenAIAccountEndpoint(
            key=settings.name,
            region=settings.location,
            tier=settings.tier,
            simulated=settings.simulated,
            account_name=account.name,
            resource_id=account.id,
            endpoint=endpoint,
            backend_url=endpoint.apply(backend_url),
            deployments=tuple(
                DeployedModel(d.name, d.model.name, d.model.version, d.sku, d.capacity) for d in settings.deployments
            ),
        )


def backend_url(endpoint: str) -> str:
    """The URL API Management forwards to: the account endpoint plus `openai`."""
    return endpoint.rstrip("/") + "/openai"


def _summary(account: OpenAIAccountEndpoint) -> pulumi.Output[dict[str, Any]]:
    return pulumi.Output.all(account.account_name, account.endpoint, account.backend_url).apply(
        lambda values: {
            "name": account.key,
            "accountName": values[0],
            "region": account.region,
            "tier": account.tier,
            "simulated": account.simulated,
            "endpoint": values[1],
            "backendUrl": values[2],
            "deployments": [
                {"name": d.name, "model": d.model, "version": d.version, "sku": d.sku, "capacity": d.capacity}
                for d in account.deployments
            ],
        }
    )
