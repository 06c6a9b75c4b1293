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

from typing import NotRequired, TypedDict

import pulumi
from pulumi_azure_native import apimanagement, cognitiveservices

from .access import RoleAssignment, assign_roles, role_assignment_spec
from .arm_deployment import arm_deployment
from .cognitive_account import locked_down_account
from .diagnostics import DiagnosticSetting, diagnostic_setting_spec, send_logs
from .naming import Naming
from .policy_templates import render
from .private_link import PrivateEndpointSpec, private_endpoint, zone_id
from .waits import waiting

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


class HarmThreshold(TypedDict):
    """A harm category llm-content-safety checks, and the severity from which it refuses a prompt."""

    category: str  # "Hate", "SelfHarm", "Sexual" or "Violence"
    threshold: int


# Every harm category at severity 4 (components/settings/content_safety.py DEFAULT_THRESHOLD).
DEFAULT_CATEGORIES: list[HarmThreshold] = [
    {"category": c, "threshold": 4} for c in ("Hate", "SelfHarm", "Sexual", "Violence")
]


class ContentSafetyPolicy(TypedDict, total=False):
    """What the policy checks: Prompt Shields and harm categories with their thresholds."""

    shield_prompt: bool  # default true
    output_type: str  # "FourSeverityLevels" (default) or "EightSeverityLevels"
    categories: list[HarmThreshold]


class ContentSafetyArgs(TypedDict):
    """Inputs of ContentSafety: plain values, no stack settings."""

    name_prefix: str
    environment: str
    name_suffix: pulumi.Input[str]
    # The Content Safety account's region (Prompt Shields is not in every region).
    account_location: str
    # The gateway's region: the private endpoint lives next to the VNet.
    location: str
    resource_group_name: pulumi.Input[str]
    private_endpoint_subnet_id: pulumi.Input[str]
    # The API Management service the backend and the fragment belong to; they wait for it (its id).
    apim_name: pulumi.Input[str]
    apim_id: pulumi.Input[str]
    # Client id of the identity the backend's managed-identity credential names (the gateway's user-assigned one).
    backend_identity_client_id: pulumi.Input[str]
    policy: NotRequired[ContentSafetyPolicy]
    # An existing privatelink.cognitiveservices.azure.com zone, or the VNet to link a zone created here to.
    private_dns_zone_id: NotRequired[pulumi.Input[str]]
    vnet_id: NotRequired[pulumi.Input[str]]
    # AVM `role_assignments` on the account; normally the gateway's identities as Cognitive Services User.
    role_assignments: NotRequired[list[RoleAssignment]]
    diagnostic_settings: NotRequired[list[DiagnosticSetting]]
    tags: NotRequired[dict[str, str]]
    # Production keeps the account from a careless `pulumi destroy`.
    protect_stateful: NotRequired[bool]


class ContentSafety(pulumi.ComponentResource):
    """Azure AI Content Safety (keys off, private), its managed-identity backend and the llm-content-safety fragment."""

    account_name: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    policy_fragment_id: pulumi.Output[str]
    """Resource id of the policy fragment API policies include (`<include-fragment fragment-id="content-safety"/>`)."""

    def __init__(self, name: str, args: ContentSafetyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("genai-gateway:safety:ContentSafety", name, None, opts)
        self._name, self._args = name, args
        self._naming = Naming(args["name_prefix"], args["environment"], pulumi.Output.from_input(args["name_suffix"]))
        tags = dict(args.get("tags", {}))
        resource_group_name = args["resource_group_name"]
        # The service name resolved together with the service id: its children wait for the service.
        service_name = waiting(args["apim_name"], args["apim_id"])
        roles_on_account = [role_assignment_spec(r) for r in args.get("role_assignments", [])]

        self.account = self._account(tags)
        self.account_name = self.account.name
        self.endpoint = self.account.properties.apply(lambda p: p.endpoint)
        account_zone = zone_id(
            f"{name}-cs-dns", CONTENT_SAFETY_DNS_ZONE, args.get("private_dns_zone_id"), resource_group_name,
            args.get("vnet_id"), tags, self,
        )
        account_endpoint = private_endpoint(
            f"{name}-cs-pe",
            azure_name=self._naming.regional("pe", ACCOUNT_ABBREVIATION),
            target_id=self.account.id,
            group_id=ACCOUNT_GROUP_ID,
            spec=PrivateEndpointSpec(args["private_endpoint_subnet_id"], account_zone),
            resource_group_name=resource_group_name,
            location=args["location"],
            tags=tags,
            parent=self,
        )
        roles = assign_roles(f"{name}-cs-role", self.account.id, roles_on_account, parent=self)

        self.backend_id = BACKEND_ID
        self.backend = arm_deployment(
            f"{name}-backend",
            deployment_name=BACKEND_DEPLOYMENT,
            resource_group_name=resource_group_name,
            declared=[content_safety_backend()],
            parameters={
                "serviceName": service_name,
                # The policy appends the Content Safety paths to the account endpoint itself.
                "endpoint": self.endpoint.apply(lambda e: e.rstrip("/")),
                "identityClientId": args["backend_identity_client_id"],
            },
            parent=self,
            depends_on=[*roles, account_endpoint.zone_group],
        )

        policy: ContentSafetyPolicy = args.get("policy", {})
        categories = [(c["category"], c["threshold"]) for c in policy.get("categories", DEFAULT_CATEGORIES)]
        self.fragment_id = FRAGMENT_ID
        self.fragment = apimanagement.PolicyFragment(
            f"{name}-fragment",
            id=FRAGMENT_ID,
            format="rawxml",
            value=render(
                "content-safety",
                backend_id=BACKEND_ID,
                shield_prompt=policy.get("shield_prompt", True),
                output_type=policy.get("output_type", "FourSeverityLevels"),
                categories=categories,
                max_characters=MAX_TEXT_CHARACTERS,
            ),
            description="Inbound: Azure AI Content Safety prompt checks (Prompt Shields, harm categories)",
            resource_group_name=resource_group_name,
            service_name=service_name,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.backend]),
        )
        self.policy_fragment_id = self.fragment.id

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
        azure_name = self._naming.unique(ACCOUNT_ABBREVIATION, max_length=SUBDOMAIN_MAX_LENGTH)
        account = locked_down_account(
            f"{self._name}-account",
            azure_name=azure_name,
            kind="ContentSafety",
            location=args["account_location"],
            resource_group_name=args["resource_group_name"],
            tags=tags,
            parent=self,
            protect=args.get("protect_stateful", False),
        )
        for i, spec in enumerate(diagnostic_setting_spec(d) for d in args.get("diagnostic_settings", [])):
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
