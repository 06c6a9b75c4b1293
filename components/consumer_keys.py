"""ConsumerKeyVault: each app team's subscription key in a Key Vault secret that only that team may read.

A stack output is readable by whoever may read the stack (or a StackReference to it), so a shared map of
keys would hand every team every key. The program therefore exports one secret output per consumer
(`consumerKey-<name>`), and, for each consumer whose settings name its team's Entra principal
(`consumers[].keyVaultReader`), writes the key to its own secret in a platform Key Vault the stack creates,
with *Key Vault Secrets User* assigned to that principal on that one secret and nothing else.

Why these choices:
- The vault is created by the stack (not an existing one by id), so its hardening is the stack's and the
  guardrails check it: Azure RBAC only (`enableRbacAuthorization`), public network access off with a
  deny-all firewall, reached through a private endpoint in `privatelink.vaultcore.azure.net`, soft delete and
  purge protection, protected from `pulumi destroy` in prod. Its secrets are written through ARM
  (Microsoft.KeyVault/vaults/secrets), as the Content Safety key is; the firewall lets trusted Azure services
  through (`bypass: AzureServices`) so that write works whether or not ARM's secret writes pass the vault
  firewall (the docs do not say; a real deployment confirms), and RBAC still decides who reads. Readers use
  the data plane, so they reach the vault from the VNet or a network listed in `network.privateEndpointClients`.
- RBAC on a single secret: Key Vault's RBAC model accepts a role assignment scoped to an individual secret
  (`.../vaults/<vault>/secrets/<name>`; https://learn.microsoft.com/azure/key-vault/general/rbac-guide,
  "Secret scope role assignment"), which that guide keeps for limited cases such as a secret shared with
  another team ("Best practices for individual keys, secrets, and certificates role assignments"): here each
  team reads its own key and can list nothing else.
- *Key Vault Secrets User* (4633458b-17de-408a-b874-0445c86b69e6) reads secret contents only
  (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/security#key-vault-secrets-user).
- The secret holds the subscription's primary key as API Management reports it at deployment; after a key
  is regenerated in API Management, the next `pulumi up` writes the new value.
"""

import re
from typing import NotRequired, TypedDict

import pulumi
from pulumi_azure_native import authorization, keyvault

from .access import RoleAssignmentSpec, assign_roles
from .diagnostics import DiagnosticSetting, diagnostic_setting_spec, send_logs
from .naming import Naming
from .private_link import PrivateEndpointSpec, private_dns_zone, private_endpoint

KEY_VAULT_DNS_ZONE = "privatelink.vaultcore.azure.net"
VAULT_GROUP_ID = "vault"
VAULT_NAME_MAX_LENGTH = 24  # Azure: 3-24 characters
# Its own abbreviation (not `kv-...-keys`): when a long prefix is cut to 24 characters, the name still differs
# from the other vaults of the stack.
VAULT_ABBREVIATION = "kvkeys"
READER_ROLE = "Key Vault Secrets User"


def consumer_key_output(consumer: str) -> str:
    """The stack output that holds one consumer's subscription key (a secret)."""
    return f"consumerKey-{consumer}"


def secret_name(consumer: str) -> str:
    """The secret of a consumer's key (Key Vault allows 1-127 letters, digits and dashes)."""
    return f"consumer-key-{consumer}"


class KeyDelivery(TypedDict):
    """One consumer's key, for the one principal that may read it."""

    consumer: str  # letters, digits and dashes: the secret is `consumer-key-<consumer>`
    # Pass it as a secret (an Output marked secret, as GatewayPolicies' consumerKeys are): a plain value would sit
    # in the component's inputs in the state.
    key: pulumi.Input[str]
    reader_principal_id: pulumi.Input[str]
    reader_principal_type: NotRequired[str]  # "ServicePrincipal" (default), "User" or "Group"


class ConsumerKeyVaultArgs(TypedDict):
    """Inputs of ConsumerKeyVault: plain values, no stack settings."""

    name_prefix: str
    environment: str
    name_suffix: pulumi.Input[str]
    location: str
    resource_group_name: pulumi.Input[str]
    # AVM `private_endpoints`: the subnet of the vault's endpoint.
    private_endpoint_subnet_id: pulumi.Input[str]
    deliveries: list[KeyDelivery]
    # An existing privatelink.vaultcore.azure.net zone (e.g. the landing zone's, which already resolves the
    # platform's other vaults); absent: the component creates its own and links it to `vnet_id` (then it answers
    # for every vault name there, so only where no other vault is read).
    private_dns_zone_id: NotRequired[pulumi.Input[str]]
    vnet_id: NotRequired[pulumi.Input[str]]
    diagnostic_settings: NotRequired[list[DiagnosticSetting]]
    tags: NotRequired[dict[str, str]]
    protect_stateful: NotRequired[bool]


# Key Vault secret names are letters, digits and dashes, and case-insensitive: lower case keeps two consumers
# from sharing one secret.
_SECRET_NAME_PART = re.compile(r"^[a-z0-9-]{1,114}$")
PRINCIPAL_TYPES = ("ServicePrincipal", "User", "Group")


class ConsumerKeyVault(pulumi.ComponentResource):
    """A private, RBAC-only Key Vault with each consumer's key in a secret only its team's principal reads."""

    vault_name: pulumi.Output[str]
    vault_id: pulumi.Output[str]
    secret_uris: pulumi.Output[dict[str, str]]
    """Consumer name -> the versionless URI of its key's secret (not a secret itself)."""

    def __init__(self, name: str, args: ConsumerKeyVaultArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("genai-gateway:keys:ConsumerKeyVault", name, None, opts)
        seen: set[str] = set()
        for i, d in enumerate(args["deliveries"]):
            if not _SECRET_NAME_PART.match(d["consumer"]) or d["consumer"] in seen:
                raise ValueError(f"ConsumerKeyVault: deliveries[{i}].consumer = {d['consumer']!r}: 1-114 lower-case "
                                 "letters, digits and dashes (a Key Vault secret name's characters), once per vault")
            seen.add(d["consumer"])
            if d.get("reader_principal_type", "ServicePrincipal") not in PRINCIPAL_TYPES:
                raise ValueError(f"ConsumerKeyVault: deliveries[{i}].reader_principal_type = "
                                 f"{d.get('reader_principal_type')!r}: must be one of {', '.join(PRINCIPAL_TYPES)}")
        tags = dict(args.get("tags", {}))
        naming = Naming(args["name_prefix"], args["environment"], pulumi.Output.from_input(args["name_suffix"]))
        resource_group_name, location = args["resource_group_name"], args["location"]
        client = authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=self))
        self.vault = keyvault.Vault(
            f"{name}-vault",
            vault_name=naming.unique(VAULT_ABBREVIATION, max_length=VAULT_NAME_MAX_LENGTH),
            resource_group_name=resource_group_name,
            location=location,
            properties=keyvault.VaultPropertiesArgs(
                tenant_id=client.tenant_id,
                sku=keyvault.SkuArgs(family="A", name=keyvault.SkuName.STANDARD),
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
            opts=pulumi.ResourceOptions(parent=self, protect=args.get("protect_stateful", False)),
        )
        self.vault_name, self.vault_id = self.vault.name, self.vault.id

        zone_id = args.get("private_dns_zone_id")
        if zone_id is None:
            vnet_id = args.get("vnet_id")
            if vnet_id is None:
                raise ValueError("ConsumerKeyVault: vnet_id is required without private_dns_zone_id (the zone it "
                                 "creates is linked to that VNet)")
            zone_id = private_dns_zone(
                f"{name}-dns", KEY_VAULT_DNS_ZONE, resource_group_name, vnet_id, tags, self
            ).id
        private_endpoint(
            f"{name}-pe",
            azure_name=naming.regional("pe", VAULT_ABBREVIATION),
            target_id=self.vault.id,
            group_id=VAULT_GROUP_ID,
            spec=PrivateEndpointSpec(args["private_endpoint_subnet_id"], zone_id),
            resource_group_name=resource_group_name,
            location=location,
            tags=tags,
            parent=self,
        )
        for i, setting in enumerate(args.get("diagnostic_settings", [])):
            send_logs(f"{name}-logs" + (f"-{i}" if i else ""), self.vault.id, diagnostic_setting_spec(setting), self)

        uris: dict[str, pulumi.Output[str]] = {}
        for delivery in args["deliveries"]:
            consumer = delivery["consumer"]
            secret = keyvault.Secret(
                f"{name}-{consumer}",
                secret_name=secret_name(consumer),
                vault_name=self.vault.name,
                resource_group_name=resource_group_name,
                properties=keyvault.SecretPropertiesArgs(
                    value=pulumi.Output.secret(delivery["key"]),
                    content_type=f"API Management subscription key of consumer {consumer}",
                    attributes=keyvault.SecretAttributesArgs(enabled=True),
                ),
                tags={**tags, "consumer": consumer},
                opts=pulumi.ResourceOptions(parent=self),
            )
            assign_roles(
                f"{name}-{consumer}-reader",
                secret.id,
                [
                    RoleAssignmentSpec(
                        READER_ROLE,
                        delivery["reader_principal_id"],
                        principal_type=delivery.get("reader_principal_type", "ServicePrincipal"),
                        description=f"Team of consumer {consumer} reads its gateway key (this secret only)",
                    )
                ],
                parent=secret,
            )
            uris[consumer] = pulumi.Output.concat(
                "https://", self.vault.name, ".vault.azure.net/secrets/", secret_name(consumer)
            )
        self.secret_uris = pulumi.Output.all(**uris) if uris else pulumi.Output.from_input({})
        self.register_outputs({"vaultName": self.vault_name, "vaultId": self.vault_id, "secretUris": self.secret_uris})
