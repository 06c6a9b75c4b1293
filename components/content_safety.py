"""ContentSafety: Azure AI Content Safety behind the gateway, for `llm-content-safety` (prompt checks, inbound).

An Azure AI Content Safety account (kind `ContentSafety`, reachable only through a private endpoint in the
gateway's VNet, `Cognitive Services User` for the gateway's identity), the API Management backend the
policy calls, and the policy fragment rendered from `fragments/content-safety.xml.j2`.

Credentials: `llm-content-safety` authenticates with whatever the backend entity carries, and in ARM
(`Microsoft.ApiManagement/service/backends`, 2024-05-01 through 2025-09-01-preview, and the installed
pulumi-azure-native's `BackendCredentialsContractArgs`) a backend can carry only `authorization`, `header`,
`query` and certificates: the managed-identity credential the portal offers cannot be written as code. So
the backend sends the account key in the `Ocp-Apim-Subscription-Key` header from a Key Vault-backed named
value, and the account keeps local (key) auth on. That is the one stated exception to "no local auth",
marked on the account with the tag LOCAL_AUTH_EXCEPTION_TAG = LOCAL_AUTH_EXCEPTION so the guardrails can
allow exactly it. The key lives only in a private, RBAC-only Key Vault that API Management reads with its
system-assigned identity (a firewalled vault cannot be read with a user-assigned one); it never appears in
an output.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pulumi
from pulumi_azure_native import apimanagement, authorization, cognitiveservices, keyvault

from .access import RoleAssignmentSpec, assign_roles
from .cognitive_account import locked_down_account
from .diagnostics import DiagnosticSettingSpec, send_logs
from .naming import Naming
from .policy_templates import render
from .private_link import PrivateEndpointSpec, private_dns_zone, private_endpoint
from .settings import ContentSafetySettings, GatewaySettings

if TYPE_CHECKING:
    from .apim_baseline import ApimBaseline

CONTENT_SAFETY_DNS_ZONE = "privatelink.cognitiveservices.azure.com"
KEY_VAULT_DNS_ZONE = "privatelink.vaultcore.azure.net"
# Private endpoint sub-resources (group ids).
ACCOUNT_GROUP_ID = "account"
VAULT_GROUP_ID = "vault"
ACCOUNT_ABBREVIATION = "cs"
# Azure allows 2-64 characters for a custom subdomain, 3-24 for a vault name.
SUBDOMAIN_MAX_LENGTH = 64
VAULT_NAME_MAX_LENGTH = 24

# What the policy and the lead's API policy refer to.
BACKEND_ID = "content-safety"
FRAGMENT_ID = "content-safety"
# The named value the backend's header reads (`{{content-safety-key}}`) and the vault secret behind it.
KEY_NAMED_VALUE = "content-safety-key"
KEY_SECRET_NAME = "content-safety-key"
# How Azure AI Content Safety takes a key.
KEY_HEADER = "Ocp-Apim-Subscription-Key"

# The stated exception to "no local auth": only accounts tagged so may keep keys on.
LOCAL_AUTH_EXCEPTION = "llm-content-safety-backend-credentials"

CONTENT_SAFETY_ROLE = "Cognitive Services User"
SECRETS_READER_ROLE = "Key Vault Secrets User"


@dataclass(frozen=True)
class ContentSafetyArgs:
    settings: ContentSafetySettings
    naming: Naming
    # The Content Safety account's region (Prompt Shields is not in every region).
    account_location: str
    # The gateway's region: the private endpoints and the vault live next to the VNet.
    location: str
    resource_group_name: pulumi.Input[str]
    vnet_id: pulumi.Input[str]
    private_endpoint_subnet_id: pulumi.Input[str]
    apim_name: pulumi.Input[str]
    # Principal that reads the key from the vault: API Management's system-assigned identity.
    key_vault_reader_principal_id: pulumi.Input[str]
    # APIM children (backend, named value, fragment) wait for the service.
    apim_service: pulumi.Resource | None = None
    # Client id of the identity the named value reads the vault with; None = the system-assigned identity
    # (the only one API Management can use on a firewalled vault).
    key_vault_identity_client_id: pulumi.Input[str] | None = None
    # AVM `role_assignments` on the account; normally the gateway's identity as Cognitive Services User.
    role_assignments: Sequence[RoleAssignmentSpec] = ()
    diagnostic_settings: Sequence[DiagnosticSettingSpec] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    # Production keeps the account and the vault from a careless `pulumi destroy`.
    protect_stateful: bool = False

    @classmethod
    def from_settings(cls, settings: GatewaySettings, baseline: ApimBaseline) -> ContentSafetyArgs:
        return cls(
            settings=settings.content_safety,
            naming=baseline.naming,
            account_location=settings.content_safety.region(settings),
            location=settings.location,
            resource_group_name=baseline.resource_group_name,
            vnet_id=baseline.vnet_id,
            private_endpoint_subnet_id=baseline.private_endpoint_subnet_id,
            apim_name=baseline.apim_name,
            key_vault_reader_principal_id=baseline.apim.identity.apply(_system_principal_id),
            apim_service=baseline.apim,
            role_assignments=(
                RoleAssignmentSpec(
                    CONTENT_SAFETY_ROLE,
                    baseline.identity.principal_id,
                    description="APIM gateway calls Azure AI Content Safety (llm-content-safety)",
                ),
            ),
            # Cognitive Services accounts and vaults log to AzureDiagnostics.
            diagnostic_settings=(DiagnosticSettingSpec(baseline.workspace_id, dedicated_tables=False),),
            tags=dict(baseline.tags),
            protect_stateful=settings.is_production,
        )


class ContentSafety(pulumi.ComponentResource):
    # What GatewayPolicies needs: the fragment to include inbound (and depend on) and the backend id.
    fragment_id: str
    fragment: apimanagement.PolicyFragment
    backend_id: str
    backend: apimanagement.Backend
    account: cognitiveservices.Account
    account_name: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    vault: keyvault.Vault
    key_vault_dns_zone_id: pulumi.Output[str]
    named_value: apimanagement.NamedValue

    def __init__(self, name: str, args: ContentSafetyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("genai-gateway:safety:ContentSafety", name, None, opts)
        self._name, self._args = name, args
        tags = dict(args.tags)
        apim = [args.apim_service] if args.apim_service else []

        self.account = self._account(tags)
        self.account_name = self.account.name
        self.endpoint = self.account.properties.apply(lambda p: p.endpoint)
        account_zone = private_dns_zone(
            f"{name}-cs-dns", CONTENT_SAFETY_DNS_ZONE, args.resource_group_name, args.vnet_id, tags, self
        )
        account_endpoint = private_endpoint(
            f"{name}-cs-pe",
            azure_name=args.naming.regional("pe", ACCOUNT_ABBREVIATION),
            target_id=self.account.id,
            group_id=ACCOUNT_GROUP_ID,
            spec=PrivateEndpointSpec(args.private_endpoint_subnet_id, account_zone.id),
            resource_group_name=args.resource_group_name,
            location=args.location,
            tags=tags,
            parent=self,
        )
        assign_roles(f"{name}-cs-role", self.account.id, list(args.role_assignments), parent=self)

        key_ready = self._key_vault(tags)
        self.named_value = apimanagement.NamedValue(
            f"{name}-key",
            named_value_id=KEY_NAMED_VALUE,
            display_name=KEY_NAMED_VALUE,
            secret=True,
            key_vault=apimanagement.KeyVaultContractCreatePropertiesArgs(
                # Versionless: API Management follows a rotated key within four hours.
                secret_identifier=self._secret.properties.apply(lambda p: p.secret_uri),
                identity_client_id=args.key_vault_identity_client_id,
            ),
            tags=["genai-gateway", "content-safety"],
            resource_group_name=args.resource_group_name,
            service_name=args.apim_name,
            # The service reads the secret when the named value is created: role and private DNS first.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*apim, *key_ready]),
        )

        self.backend_id = BACKEND_ID
        self.backend = apimanagement.Backend(
            f"{name}-backend",
            backend_id=BACKEND_ID,
            type="Single",
            # The policy appends the Content Safety paths to the account endpoint itself.
            url=self.endpoint.apply(lambda e: e.rstrip("/")),
            # "http" is the only protocol of REST backends, HTTPS URLs included.
            protocol="http",
            title="Azure AI Content Safety",
            description="Prompt checks of llm-content-safety; key from Key Vault (no managed identity in ARM)",
            tls=apimanagement.BackendTlsPropertiesArgs(validate_certificate_chain=True, validate_certificate_name=True),
            credentials=apimanagement.BackendCredentialsContractArgs(
                header={KEY_HEADER: ["{{" + KEY_NAMED_VALUE + "}}"]}
            ),
            resource_group_name=args.resource_group_name,
            service_name=args.apim_name,
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[*apim, self.named_value, account_endpoint.zone_group]
            ),
        )

        s = args.settings
        self.fragment_id = FRAGMENT_ID
        self.fragment = apimanagement.PolicyFragment(
            f"{name}-fragment",
            id=FRAGMENT_ID,
            format="rawxml",
            value=render(
                "content-safety",
                backend_id=BACKEND_ID,
                shield_prompt=s.shield_prompt,
                output_type=s.output_type,
                categories=s.categories.checked(),
            ),
            description="Inbound: Azure AI Content Safety prompt checks (Prompt Shields, harm categories)",
            resource_group_name=args.resource_group_name,
            service_name=args.apim_name,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*apim, self.backend]),
        )

        self.register_outputs(
            {
                "accountName": self.account_name,
                "endpoint": self.endpoint,
                "backendId": BACKEND_ID,
                "fragmentId": FRAGMENT_ID,
                "keyVaultName": self.vault.name,
            }
        )

    def _account(self, tags: dict[str, str]) -> cognitiveservices.Account:
        args = self._args
        azure_name = args.naming.unique(ACCOUNT_ABBREVIATION, max_length=SUBDOMAIN_MAX_LENGTH)
        account = locked_down_account(
            f"{self._name}-account",
            azure_name=azure_name,
            kind="ContentSafety",
            location=args.account_location,
            resource_group_name=args.resource_group_name,
            tags=tags,
            parent=self,
            protect=args.protect_stateful,
            # The backend entity can only send a key (see the module docstring): keys stay on, and the account
            # is reachable through its private endpoint only.
            key_auth_exception=LOCAL_AUTH_EXCEPTION,
        )
        for i, spec in enumerate(args.diagnostic_settings):
            send_logs(f"{self._name}-cs-logs" + (f"-{i}" if i else ""), account.id, spec, self)
        return account

    def _key_vault(self, tags: dict[str, str]) -> list[pulumi.Resource]:
        """The vault holding the account key, and what must exist before API Management can read it."""
        args, name = self._args, self._name
        client = authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=self))
        self.vault = keyvault.Vault(
            f"{name}-vault",
            vault_name=args.naming.unique("kv", ACCOUNT_ABBREVIATION, max_length=VAULT_NAME_MAX_LENGTH),
            resource_group_name=args.resource_group_name,
            location=args.location,
            properties=keyvault.VaultPropertiesArgs(
                tenant_id=client.tenant_id,
                sku=keyvault.SkuArgs(family="A", name=keyvault.SkuName.STANDARD),
                # Azure RBAC only (no access policies), reached only through its private endpoint.
                enable_rbac_authorization=True,
                public_network_access="Disabled",
                network_acls=keyvault.NetworkRuleSetArgs(
                    default_action="Deny", bypass="AzureServices", ip_rules=[], virtual_network_rules=[]
                ),
                enable_soft_delete=True,
                soft_delete_retention_in_days=90,
                enable_purge_protection=True,
                enabled_for_deployment=False,
                enabled_for_disk_encryption=False,
                enabled_for_template_deployment=False,
            ),
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect_stateful),
        )

        # Read through ARM at deployment and kept secret end to end: never an output, masked in every plan.
        keys = cognitiveservices.list_account_keys_output(
            account_name=self.account.name,
            resource_group_name=args.resource_group_name,
            opts=pulumi.InvokeOutputOptions(parent=self, depends_on=[self.account]),
        )
        self._secret = keyvault.Secret(
            f"{name}-key-secret",
            secret_name=KEY_SECRET_NAME,
            vault_name=self.vault.name,
            resource_group_name=args.resource_group_name,
            properties=keyvault.SecretPropertiesArgs(
                value=pulumi.Output.secret(keys.key1),
                content_type="Azure AI Content Safety account key (key1)",
                attributes=keyvault.SecretAttributesArgs(enabled=True),
            ),
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )

        zone = private_dns_zone(
            f"{name}-kv-dns", KEY_VAULT_DNS_ZONE, args.resource_group_name, args.vnet_id, tags, self
        )
        # One privatelink.vaultcore.azure.net zone per resource group: other vaults of the stack register here.
        self.key_vault_dns_zone_id = zone.id
        endpoint = private_endpoint(
            f"{name}-kv-pe",
            azure_name=args.naming.regional("pe", "kv", ACCOUNT_ABBREVIATION),
            target_id=self.vault.id,
            group_id=VAULT_GROUP_ID,
            spec=PrivateEndpointSpec(args.private_endpoint_subnet_id, zone.id),
            resource_group_name=args.resource_group_name,
            location=args.location,
            tags=tags,
            parent=self,
        )
        readers = assign_roles(
            f"{name}-kv-role",
            self.vault.id,
            [
                RoleAssignmentSpec(
                    SECRETS_READER_ROLE,
                    args.key_vault_reader_principal_id,
                    description="API Management (system-assigned identity) reads the Content Safety key",
                )
            ],
            parent=self,
        )
        for i, spec in enumerate(args.diagnostic_settings):
            send_logs(f"{name}-kv-logs" + (f"-{i}" if i else ""), self.vault.id, spec, self)
        return [self._secret, endpoint.zone_group, *readers]


def _system_principal_id(identity: apimanagement.outputs.ApiManagementServiceIdentityResponse | None) -> str:
    """API Management's system-assigned principal (the baseline always enables it next to the user-assigned one)."""
    if identity is None or not identity.principal_id:
        raise ValueError("the API Management service has no system-assigned identity; Key Vault named values need it")
    return identity.principal_id
