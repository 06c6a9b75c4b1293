"""WafIngress: Application Gateway WAF_v2 in front of an Internal API Management gateway.

The listener's certificate is a Key Vault secret the platform team owns; the program never generates
private keys. The gateway reads the certificate with its own user-assigned identity.
"""

from typing import NotRequired, TypedDict

import pulumi
from pulumi_azure_native import authorization, managedidentity, network

from .access import RoleAssignmentSpec, assign_roles
from .diagnostics import DiagnosticSettingSpec, send_logs
from .naming import Naming
from .role_propagation import after_propagation

APIM_HEALTH_PATH = "/status-0123456789abcdef"
# TLS 1.2 minimum with GCM suites only; AppGwSslPolicy20220101 still admits CBC suites (shared azure-facts.md).
TLS_POLICY = "AppGwSslPolicy20220101S"
# Chat completions can take minutes; the default 30 s would cut long generations. Longer than the gateway's
# own backend timeout (at most 240 s), so a slow model gets the gateway's JSON error, not a WAF 502.
BACKEND_TIMEOUT_SECONDS = 250
# CRS 3.2 and DRS 2.1 inspect bodies up to 2 MB, enough for long prompts.
MAX_INSPECTED_BODY_KB = 2000


class WafIngressSpec(TypedDict):
    """The public listener: host name, its certificate in the platform's Key Vault, and the WAF."""

    host_name: str
    # Versionless Key Vault secret id, so the listener follows certificate rotation.
    certificate_secret_id: str
    key_vault_id: str
    waf_rule_set: NotRequired[str]  # "OWASP_3.2" (default) or "Microsoft_DefaultRuleSet_2.1"
    waf_mode: NotRequired[str]  # "Prevention" (default) or "Detection"
    min_capacity: NotRequired[int]
    max_capacity: NotRequired[int]
    zones: NotRequired[list[str]]
    # The gateway reads its certificate with a fresh Key Vault Secrets User assignment: wait this long after it.
    role_propagation_seconds: NotRequired[int]


class WafIngressArgs(TypedDict):
    ingress: WafIngressSpec
    location: str
    name_prefix: str
    environment: str
    name_suffix: pulumi.Input[str]
    resource_group_name: pulumi.Input[str]
    subnet_id: pulumi.Input[str]
    # The gateway's host name; an Output that also waits for its private DNS records (Internal mode).
    backend_host_name: pulumi.Input[str]
    workspace_id: pulumi.Input[str]
    tags: NotRequired[dict[str, str]]


class WafIngress(pulumi.ComponentResource):
    """Application Gateway WAF_v2 with a Key Vault certificate in front of an Internal API Management gateway."""

    public_ip_address: pulumi.Output[str]
    waf_policy_id: pulumi.Output[str]

    def __init__(self, name: str, args: WafIngressArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("genai-gateway:baseline:WafIngress", name, None, opts)
        s = args["ingress"]
        naming = Naming(args["name_prefix"], args["environment"], pulumi.Output.from_input(args["name_suffix"]))
        tags = dict(args.get("tags", {}))
        location, resource_group_name = args["location"], args["resource_group_name"]
        child = pulumi.ResourceOptions(parent=self)
        zones = list(s.get("zones", [])) or None
        rule_set_type, rule_set_version = s.get("waf_rule_set", "OWASP_3.2").rsplit("_", 1)
        # The secret's name in its vault: the last segment of the versionless secret id.
        secret_name = s["certificate_secret_id"].rstrip("/").rsplit("/", 1)[-1]

        identity = managedidentity.UserAssignedIdentity(
            f"{name}-identity",
            resource_name_=naming.regional("id", "agw"),
            resource_group_name=resource_group_name,
            location=location,
            tags=tags,
            opts=child,
        )
        secrets_user = assign_roles(
            f"{name}-keyvault-role",
            f"{s['key_vault_id']}/secrets/{secret_name}",
            [
                RoleAssignmentSpec(
                    "Key Vault Secrets User",
                    identity.principal_id,
                    description="Application Gateway reads its TLS listener certificate",
                )
            ],
            parent=self,
        )
        # Creating the gateway reads the certificate from Key Vault with this identity: Azure checks the fresh
        # assignment then, so the gateway waits for it to propagate (components/role_propagation.py).
        certificate_readable = after_propagation(
            f"{name}-keyvault-role-propagation", secrets_user, s.get("role_propagation_seconds", 180), self
        )
        public_ip = network.PublicIPAddress(
            f"{name}-pip",
            public_ip_address_name=naming.regional("pip", "agw"),
            resource_group_name=resource_group_name,
            location=location,
            sku=network.PublicIPAddressSkuArgs(name="Standard", tier="Regional"),
            public_ip_allocation_method="Static",
            public_ip_address_version="IPv4",
            zones=zones,
            tags=tags,
            opts=child,
        )
        self.public_ip_address = public_ip.ip_address.apply(lambda ip: ip or "")
        self.waf_policy = network.WebApplicationFirewallPolicy(
            f"{name}-waf",
            policy_name=naming.regional("waf"),
            resource_group_name=resource_group_name,
            location=location,
            policy_settings=network.PolicySettingsArgs(
                state="Enabled",
                mode=s.get("waf_mode", "Prevention"),
                request_body_check=True,
                max_request_body_size_in_kb=MAX_INSPECTED_BODY_KB,
                file_upload_limit_in_mb=100,
            ),
            managed_rules=network.ManagedRulesDefinitionArgs(
                managed_rule_sets=[
                    network.ManagedRuleSetArgs(
                        rule_set_type=rule_set_type, rule_set_version=rule_set_version
                    )
                ]
            ),
            tags=tags,
            opts=child,
        )

        gateway_name = naming.regional("agw")
        client = authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=self))
        gateway_id = pulumi.Output.concat(
            "/subscriptions/", client.subscription_id, "/resourceGroups/", resource_group_name,
            "/providers/Microsoft.Network/applicationGateways/", gateway_name,
        )

        def part(kind: str, part_name: str) -> network.SubResourceArgs:
            return network.SubResourceArgs(id=pulumi.Output.concat(gateway_id, f"/{kind}/{part_name}"))

        self.gateway = network.ApplicationGateway(
            f"{name}-agw",
            application_gateway_name=gateway_name,
            resource_group_name=resource_group_name,
            location=location,
            sku=network.ApplicationGatewaySkuArgs(name="WAF_v2", tier="WAF_v2"),
            autoscale_configuration=network.ApplicationGatewayAutoscaleConfigurationArgs(
                min_capacity=s.get("min_capacity", 2), max_capacity=s.get("max_capacity", 10)
            ),
            zones=zones,
            identity=network.ManagedServiceIdentityArgs(
                type=network.ResourceIdentityType.USER_ASSIGNED, user_assigned_identities=[identity.id]
            ),
            firewall_policy=network.SubResourceArgs(id=self.waf_policy.id),
            # v2 buffers whole responses by default, which would hold back a streamed completion until it ends;
            # WAF_v2 needs request buffering to inspect bodies.
            global_configuration=network.ApplicationGatewayGlobalConfigurationArgs(
                enable_request_buffering=True, enable_response_buffering=False
            ),
            gateway_ip_configurations=[
                network.ApplicationGatewayIPConfigurationArgs(
                    name="gateway-ip", subnet=network.SubResourceArgs(id=args["subnet_id"])
                )
            ],
            frontend_ip_configurations=[
                network.ApplicationGatewayFrontendIPConfigurationArgs(
                    name="public-frontend", public_ip_address=network.SubResourceArgs(id=public_ip.id)
                )
            ],
            frontend_ports=[network.ApplicationGatewayFrontendPortArgs(name="https", port=443)],
            ssl_policy=network.ApplicationGatewaySslPolicyArgs(policy_type="Predefined", policy_name=TLS_POLICY),
            ssl_certificates=[
                network.ApplicationGatewaySslCertificateArgs(
                    name="listener-certificate", key_vault_secret_id=s["certificate_secret_id"]
                )
            ],
            http_listeners=[
                network.ApplicationGatewayHttpListenerArgs(
                    name="https-listener",
                    protocol="Https",
                    host_name=s["host_name"],
                    require_server_name_indication=True,
                    frontend_ip_configuration=part("frontendIPConfigurations", "public-frontend"),
                    frontend_port=part("frontendPorts", "https"),
                    ssl_certificate=part("sslCertificates", "listener-certificate"),
                )
            ],
            backend_address_pools=[
                network.ApplicationGatewayBackendAddressPoolArgs(
                    name="apim-gateway",
                    backend_addresses=[network.ApplicationGatewayBackendAddressArgs(fqdn=args["backend_host_name"])],
                )
            ],
            probes=[
                network.ApplicationGatewayProbeArgs(
                    name="apim-status",
                    protocol="Https",
                    path=APIM_HEALTH_PATH,
                    interval=30,
                    timeout=30,
                    unhealthy_threshold=3,
                    pick_host_name_from_backend_http_settings=True,
                    match=network.ApplicationGatewayProbeHealthResponseMatchArgs(status_codes=["200-399"]),
                )
            ],
            backend_http_settings_collection=[
                network.ApplicationGatewayBackendHttpSettingsArgs(
                    name="apim-https",
                    port=443,
                    protocol="Https",
                    pick_host_name_from_backend_address=True,
                    request_timeout=BACKEND_TIMEOUT_SECONDS,
                    cookie_based_affinity="Disabled",
                    probe=part("probes", "apim-status"),
                )
            ],
            request_routing_rules=[
                network.ApplicationGatewayRequestRoutingRuleArgs(
                    name="to-apim",
                    rule_type="Basic",
                    priority=100,
                    http_listener=part("httpListeners", "https-listener"),
                    backend_address_pool=part("backendAddressPools", "apim-gateway"),
                    backend_http_settings=part("backendHttpSettingsCollection", "apim-https"),
                )
            ],
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=certificate_readable),
        )
        send_logs(f"{name}-logs", self.gateway.id, DiagnosticSettingSpec(args["workspace_id"]), self)
        self.waf_policy_id = self.waf_policy.id
        self.register_outputs({"publicIpAddress": self.public_ip_address, "wafPolicyId": self.waf_policy_id})
