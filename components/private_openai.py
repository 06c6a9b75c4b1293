"""PrivateOpenAI: the model capacity the gateway fronts, reachable only through the gateway's VNet.

Per account in the settings: a locked-down Azure OpenAI account in its own region (no public network access,
no API keys, network ACLs defaulting to Deny, a globally unique custom subdomain), its model deployments
created one after another, a private endpoint in the gateway's private-endpoint subnet registered in one
shared `privatelink.openai.azure.com` zone, `Cognitive Services OpenAI User` for the gateway's identity, and
resource logs to the gateway's Log Analytics workspace.
"""

from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict

import pulumi
from pulumi_azure_native import cognitiveservices

from .access import RoleAssignment, assign_roles, role_assignment_spec
from .cognitive_account import locked_down_account
from .diagnostics import DiagnosticSetting, diagnostic_setting_spec, send_logs
from .naming import ACCOUNT_ABBREVIATION, SUBDOMAIN_MAX_LENGTH, Naming
from .private_link import PrivateEndpointSpec, private_endpoint, zone_id

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


class ModelDeployment(TypedDict):
    """One model deployment of an account, created after the previous one (Azure refuses concurrent ones)."""

    name: str
    model: str  # e.g. "gpt-5.4"
    version: str  # e.g. "2026-03-05"
    sku: str  # e.g. "GlobalStandard", "DataZoneProvisionedManaged"
    capacity: int  # thousands of tokens per minute (Standard types) or PTUs (provisioned types)
    upgrade_option: str  # versionUpgradeOption, e.g. "OnceNewDefaultVersionAvailable", "NoAutoUpgrade"


class OpenAIAccount(TypedDict):
    """An Azure OpenAI account in its own region, and its deployments."""

    name: str  # logical name; the Azure name is derived from it
    location: str
    tier: str  # "ptu" | "paygo"
    deployments: list[ModelDeployment]
    # A Standard deployment standing in for PTU capacity (cheap dev environments only).
    simulated: NotRequired[bool]


class PrivateOpenAIArgs(TypedDict):
    """Inputs of PrivateOpenAI: plain values, no stack settings."""

    accounts: list[OpenAIAccount]
    # The gateway's region: private endpoints live next to the VNet, accounts in their own regions.
    location: str
    name_prefix: str
    environment: str
    name_suffix: pulumi.Input[str]
    resource_group_name: pulumi.Input[str]
    private_endpoint_subnet_id: pulumi.Input[str]
    # The privatelink.openai.azure.com zone the endpoints register in: an existing one (e.g. a landing zone's
    # central zone in another subscription), or, without it, one created here and linked to vnet_id.
    private_dns_zone_id: NotRequired[pulumi.Input[str]]
    vnet_id: NotRequired[pulumi.Input[str]]
    # Granted on every account; normally the gateway's inference identity.
    role_assignments: NotRequired[list[RoleAssignment]]
    diagnostic_settings: NotRequired[list[DiagnosticSetting]]
    tags: NotRequired[dict[str, str]]
    # Production keeps accounts (and with them their subdomains and deployments) from a careless destroy.
    protect_accounts: NotRequired[bool]


def capacity_tier(account: OpenAIAccount) -> str:
    """`ptu`, `ptu-simulated` or `paygo`: what the plan and the account's tags show."""
    return "ptu-simulated" if account["tier"] == "ptu" and account.get("simulated", False) else account["tier"]


class PrivateOpenAI(pulumi.ComponentResource):
    """Locked-down Azure OpenAI accounts with chained deployments, reachable only through private endpoints."""

    dns_zone_id: pulumi.Output[str]
    summary: pulumi.Output[list[dict[str, Any]]]
    """Non-secret summary of every account (name, region, tier, endpoint, backend URL, deployments)."""

    def __init__(self, name: str, args: PrivateOpenAIArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("genai-gateway:openai:PrivateOpenAI", name, None, opts)
        self._name = name
        self._naming = Naming(args["name_prefix"], args["environment"], pulumi.Output.from_input(args["name_suffix"]))
        self._location = args["location"]
        self._resource_group_name = args["resource_group_name"]
        self._tags = dict(args.get("tags", {}))
        self._protect_stateful = args.get("protect_accounts", False)
        self._roles = [role_assignment_spec(r) for r in args.get("role_assignments", [])]
        self._diagnostics = [diagnostic_setting_spec(d) for d in args.get("diagnostic_settings", [])]

        zone = zone_id(
            f"{name}-dns",
            OPENAI_DNS_ZONE,
            args.get("private_dns_zone_id"),
            self._resource_group_name,
            args.get("vnet_id"),
            self._tags,
            parent=self,
        )
        self.dns_zone_id = pulumi.Output.from_input(zone)
        self._endpoint_spec = PrivateEndpointSpec(args["private_endpoint_subnet_id"], zone)

        self.accounts: list[OpenAIAccountEndpoint] = [self._account(account) for account in args["accounts"]]
        self.summary = pulumi.Output.all(*[_summary(a) for a in self.accounts])

        self.register_outputs({"accounts": self.summary, "dnsZoneId": self.dns_zone_id})

    def _account(self, settings: OpenAIAccount) -> OpenAIAccountEndpoint:
        key, naming = settings["name"], self._naming
        prefix = f"{self._name}-{key}"
        azure_name = naming.unique(ACCOUNT_ABBREVIATION, key, max_length=SUBDOMAIN_MAX_LENGTH)
        tier = capacity_tier(settings)
        account = locked_down_account(
            prefix,
            azure_name=azure_name,
            kind="OpenAI",
            location=settings["location"],
            resource_group_name=self._resource_group_name,
            # `ptu-simulated` makes a Standard deployment standing in for PTU visible in every plan and portal.
            tags={**self._tags, "capacityTier": tier, "openaiAccount": key},
            parent=self,
            protect=self._protect_stateful,
        )

        # Azure rejects concurrent deployment operations on one account: each waits for the previous one.
        previous: list[pulumi.Resource] = []
        for deployment in settings["deployments"]:
            created = cognitiveservices.Deployment(
                f"{prefix}-{deployment['name']}",
                deployment_name=deployment["name"],
                account_name=account.name,
                resource_group_name=self._resource_group_name,
                sku=cognitiveservices.SkuArgs(name=deployment["sku"], capacity=deployment["capacity"]),
                properties=cognitiveservices.DeploymentPropertiesArgs(
                    model=cognitiveservices.DeploymentModelArgs(
                        format="OpenAI", name=deployment["model"], version=deployment["version"]
                    ),
                    version_upgrade_option=deployment["upgrade_option"],
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=previous),
            )
            previous = [created]

        private_endpoint(
            f"{prefix}-pe",
            azure_name=naming.regional("pe", ACCOUNT_ABBREVIATION, key),
            target_id=account.id,
            group_id=OPENAI_GROUP_ID,
            spec=self._endpoint_spec,
            resource_group_name=self._resource_group_name,
            location=self._location,
            tags=self._tags,
            parent=self,
            # Deployments are chained, so the last one finishing means the account is idle again.
            depends_on=previous,
        )
        assign_roles(f"{prefix}-role", account.id, self._roles, parent=self)
        for i, spec in enumerate(self._diagnostics):
            send_logs(f"{prefix}-logs" + (f"-{i}" if i else ""), account.id, spec, self)

        endpoint = account.properties.apply(lambda p: p.endpoint)
        return OpenAIAccountEndpoint(
            key=key,
            region=settings["location"],
            tier=settings["tier"],
            simulated=settings.get("simulated", False),
            account_name=account.name,
            resource_id=account.id,
            endpoint=endpoint,
            backend_url=endpoint.apply(backend_url),
            deployments=tuple(
                DeployedModel(d["name"], d["model"], d["version"], d["sku"], d["capacity"])
                for d in settings["deployments"]
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
