"""ContentSafety: Azure AI Content Safety behind the gateway, for `llm-content-safety` (prompt checks, inbound).

An Azure AI Content Safety account (kind `ContentSafety`, keys off, reachable only through a private endpoint
in the gateway's VNet), the API Management backend the policy calls, and the policy fragment rendered from
`fragments/content-safety.xml.j2`.

Keyless: the policy reference's prerequisite is a backend that authenticates with API Management's managed
identity (learn.microsoft.com/azure/api-management/llm-content-safety-policy). The resource provider accepts
`credentials.managedIdentity` on a backend although the ARM schema and the typed SDK do not list it
(Azure/azure-rest-api-specs#32665, Azure/apiops#872; Azure-Samples/AI-Gateway's content-safety lab deploys it at
2024-06-01-preview), so the backend is declared through an ARM deployment (components/arm_deployment.py). Which
identity such a credential uses when it names a client id is not documented: the credential names the gateway's
user-assigned identity, and both that identity and the service's system-assigned one hold *Cognitive Services
User* on the account, so the call is authorised under either reading. No key is read, stored or named anywhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pulumi
from pulumi_azure_native import apimanagement, cognitiveservices, resources

from .access import RoleAssignmentSpec, assign_roles
from .arm_deployment import arm_deployment
from .cognitive_account import locked_down_account
from .diagnostics import DiagnosticSettingSpec, send_logs
from .naming import Naming
from .policy_templates import render
from .private_link import PrivateEndpointSpec, private_endpoint, zone_id
from .settings import ContentSafetySettings, GatewaySettings

if TYPE_CHECKING:
    from .apim_baseline import ApimBaseline

CONTENT_SAFETY_DNS_ZONE = "privatelink.cognitiveservices.azure.com"
# Private endpoint sub-resource (group id).
ACCOUNT_GROUP_ID = "account"
ACCOUNT_ABBREVIATION = "cs"
# Azure allows 2-64 characters for a custom subdomain.
SUBDOMAIN_MAX_LENGTH = 64

# What the policy and the lead's API policy refer to.
BACKEND_ID = "content-safety"
FRAGMENT_ID = "content-safety"
# The API version the backend is declared at (the first whose service accepts the managed-identity credential
# in Microsoft's own sample) and the token audience of Azure AI services.
BACKEND_API_VERSION = "2024-06-01-preview"
BACKEND_DEPLOYMENT = "genai-gateway-content-safety-backend"
COGNITIVE_SERVICES_AUDIENCE = "https://cognitiveservices.azure.com"
# Azure AI Content Safety analyses at most 10,000 characters of text per request (text analysis and Prompt
# Shields user prompts; learn.microsoft.com/azure/ai-services/content-safety/overview#input-requirements).
MAX_TEXT_CHARACTERS = 10_000

CONTENT_SAFETY_ROLE = "Cognitive Services User"


@dataclass(frozen=True)
class ContentSafetyArgs:
    settings: ContentSafetySettings
    naming: Naming
    # The Content Safety account's region (Prompt Shields is not in every region).
    account_location: str
    # The gateway's region: the private endpoint lives next to the VNet.
    location: str
    resource_group_name: pulumi.Input[str]
    vnet_id: pulumi.Input[str]
    private_endpoint_subnet_id: pulumi.Input[str]
    apim_name: pulumi.Input[str]
    # Client id of the identity the backend's managed-identity credential names (the gateway's user-assigned one).
    backend_identity_client_id: pulumi.Input[str]
    # APIM children (backend, named value, fragment) wait for the service.
    apim_service: pulumi.Resource | None = None
    # AVM `role_assignments` on the account; normally the gateway's identity as Cognitive Services User.
    role_assignments: Sequence[RoleAssignmentSpec] = ()
    diagnostic_settings: Sequence[DiagnosticSettingSpec] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    # Production keeps the account from a careless `pulumi destroy`.
    protect_stateful: bool = False
    # An existing privatelink.cognitiveservices.azure.com zone instead of one created and linked to vnet_id.
    private_dns_zone_id: pulumi.Input[str] | None = None

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
            backend_identity_client_id=baseline.identity.client_id,
            apim_service=baseline.apim,
            # Both of API Management's identities: which one a managed-identity backend credential uses is not
            # documented (see the module docstring).
            role_assignments=(
                RoleAssignmentSpec(
                    CONTENT_SAFETY_ROLE,
                    baseline.identity.principal_id,
                    description="APIM gateway (user-assigned identity) calls Azure AI Content Safety",
                ),
                RoleAssignmentSpec(
                    CONTENT_SAFETY_ROLE,
                    baseline.apim.identity.apply(_system_principal_id),
                    description="APIM gateway (system-assigned identity) calls Azure AI Content Safety",
                    label="apim-system",
                ),
            ),
            # Cognitive Services accounts log to AzureDiagnostics.
            diagnostic_settings=(DiagnosticSettingSpec(baseline.workspace_id, dedicated_tables=False),),
            tags=dict(baseline.tags),
            protect_stateful=settings.is_production,
            private_dns_zone_id=settings.network.private_dns_zones.get(CONTENT_SAFETY_DNS_ZONE),
        )


class ContentSafety(pulumi.ComponentResource):
    # What GatewayPolicies needs: the fragment to include inbound (and depend on) and the backend id.
    fragment_id: str
    fragment: apimanagement.PolicyFragment
    backend_id: str
    backend: resources.Deployment
    account: cognitiveservices.Account
    account_name: pulumi.Output[str]
    endpoint: pulumi.Output[str]

    def __init__(self, name: str, args: ContentSafetyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("genai-gateway:safety:ContentSafety", name, None, opts)
        self._name, self._args = name, args
        tags = dict(args.tags)
        apim = [args.apim_service] if args.apim_service else []

        self.account = self._account(tags)
        self.account_name = self.account.name
        self.endpoint = self.account.properties.apply(lambda p: p.endpoint)
        account_zone = zone_id(
            f"{name}-cs-dns", CONTENT_SAFETY_DNS_ZONE, args.private_dns_zone_id, args.resource_group_name,
            args.vnet_id, tags, self,
        )
        account_endpoint = private_endpoint(
            f"{name}-cs-pe",
            azure_name=args.naming.regional("pe", ACCOUNT_ABBREVIATION),
            target_id=self.account.id,
            group_id=ACCOUNT_GROUP_ID,
            spec=PrivateEndpointSpec(args.private_endpoint_subnet_id, account_zone),
            resource_group_name=args.resource_group_name,
            location=args.location,
            tags=tags,
            parent=self,
        )
        roles = assign_roles(f"{name}-cs-role", self.account.id, list(args.role_assignments), parent=self)

        self.backend_id = BACKEND_ID
        self.backend = arm_deployment(
            f"{name}-backend",
            deployment_name=BACKEND_DEPLOYMENT,
            resource_group_name=args.resource_group_name,
            declared=[content_safety_backend()],
            parameters={
                "serviceName": args.apim_name,
                # The policy appends the Content Safety paths to the account endpoint itself.
                "endpoint": self.endpoint.apply(lambda e: e.rstrip("/")),
                "identityClientId": args.backend_identity_client_id,
            },
            parent=self,
            depends_on=[*apim, *roles, account_endpoint.zone_group],
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
                max_characters=MAX_TEXT_CHARACTERS,
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
        )
        for i, spec in enumerate(args.diagnostic_settings):
            send_logs(f"{self._name}-cs-logs" + (f"-{i}" if i else ""), account.id, spec, self)
        return account


def content_safety_backend() -> dict[str, object]:
    """The backend llm-content-safety calls, with a managed-identity credential, as an ARM template resource."""
    return {
        "type": "Microsoft.ApiManagement/service/backends",
        "apiVersion": BACKEND_API_VERSION,
        "name": f"[format('{{0}}/{BACKEND_ID}', parameters('serviceName'))]",
        "properties": {
            "title": "Azure AI Content Safety",
            "description": "Prompt checks of llm-content-safety; keyless, with API Management's managed identity",
            "url": "[parameters('endpoint')]",
            # "http" is the only protocol of REST backends, HTTPS URLs included.
            "protocol": "http",
            "tls": {"validateCertificateChain": True, "validateCertificateName": True},
            "credentials": {
                "managedIdentity": {
                    "resource": COGNITIVE_SERVICES_AUDIENCE,
                    "clientId": "[parameters('identityClientId')]",
                }
            },
        },
    }


def _system_principal_id(identity: apimanagement.outputs.ApiManagementServiceIdentityResponse | None) -> str:
    """API Management's system-assigned principal (the baseline always enables it next to the user-assigned one)."""
    if identity is None or not identity.principal_id:
        raise ValueError("the API Management service has no system-assigned identity; the Content Safety role needs it")
    return identity.principal_id
