"""Pulumi mocks that answer like Azure Resource Manager: ARM-shaped ids and realistic computed outputs.

Every value Azure computes at deployment (principal ids, IPs, endpoints, keys) is fabricated here and
remembered, so the plan can show it as `[computed]` while tests can still follow the exact wiring.
"""

from __future__ import annotations

import hashlib
import ipaddress
import threading
import uuid
from typing import Any

import pulumi
from pulumi.runtime import rpc

SUBSCRIPTION_ID = "00000000-0000-4000-8000-000000000001"
TENANT_ID = "00000000-0000-4000-8000-0000000000aa"
CLIENT_ID = "00000000-0000-4000-8000-0000000000cc"
OBJECT_ID = "00000000-0000-4000-8000-0000000000dd"

_RG = "/subscriptions/{subscription}/resourceGroups/{resourceGroupName}/providers/"
_APIM = _RG + "Microsoft.ApiManagement/service/{serviceName}"

# ARM id of each resource type the program declares. A type missing here fails the run: new components
# add their type, so ids stay realistic.
ARM_IDS: dict[str, str] = {
    "azure-native:resources:ResourceGroup": "/subscriptions/{subscription}/resourceGroups/{resourceGroupName}",
    "azure-native:resources:Deployment": _RG + "Microsoft.Resources/deployments/{deploymentName}",
    "azure-native:network:VirtualNetwork": _RG + "Microsoft.Network/virtualNetworks/{virtualNetworkName}",
    "azure-native:network:Subnet": _RG + "Microsoft.Network/virtualNetworks/{virtualNetworkName}/subnets/{subnetName}",
    "azure-native:network:NetworkSecurityGroup": _RG
    + "Microsoft.Network/networkSecurityGroups/{networkSecurityGroupName}",
    "azure-native:network:PublicIPAddress": _RG + "Microsoft.Network/publicIPAddresses/{publicIpAddressName}",
    "azure-native:network:PrivateEndpoint": _RG + "Microsoft.Network/privateEndpoints/{privateEndpointName}",
    "azure-native:network:PrivateDnsZoneGroup": _RG
    + "Microsoft.Network/privateEndpoints/{privateEndpointName}/privateDnsZoneGroups/{privateDnsZoneGroupName}",
    "azure-native:network:ApplicationGateway": _RG + "Microsoft.Network/applicationGateways/{applicationGatewayName}",
    "azure-native:network:WebApplicationFirewallPolicy": _RG
    + "Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies/{policyName}",
    "azure-native:privatedns:PrivateZone": _RG + "Microsoft.Network/privateDnsZones/{privateZoneName}",
    "azure-native:privatedns:VirtualNetworkLink": _RG
    + "Microsoft.Network/privateDnsZones/{privateZoneName}/virtualNetworkLinks/{virtualNetworkLinkName}",
    "azure-native:privatedns:PrivateRecordSet": _RG
    + "Microsoft.Network/privateDnsZones/{privateZoneName}/{recordType}/{relativeRecordSetName}",
    "azure-native:managedidentity:UserAssignedIdentity": _RG
    + "Microsoft.ManagedIdentity/userAssignedIdentities/{resourceName}",
    "azure-native:operationalinsights:Workspace": _RG + "Microsoft.OperationalInsights/workspaces/{workspaceName}",
    "azure-native:applicationinsights:Component": _RG + "Microsoft.Insights/components/{resourceName}",
    "azure-native:applicationinsights:Workbook": _RG + "Microsoft.Insights/workbooks/{resourceName}",
    "azure-native:monitor:DiagnosticSetting": "{resourceUri}/providers/Microsoft.Insights/diagnosticSettings/{name}",
    "azure-native:monitor:ActionGroup": _RG + "Microsoft.Insights/actionGroups/{actionGroupName}",
    "azure-native:monitor:ScheduledQueryRule": _RG + "Microsoft.Insights/scheduledQueryRules/{ruleName}",
    "azure-native:monitor:MetricAlert": _RG + "Microsoft.Insights/metricAlerts/{ruleName}",
    "azure-native:authorization:RoleAssignment": "{scope}/providers/Microsoft.Authorization/roleAssignments/"
    "{roleAssignmentName}",
    "azure-native:cognitiveservices:Account": _RG + "Microsoft.CognitiveServices/accounts/{accountName}",
    "azure-native:cognitiveservices:Deployment": _RG
    + "Microsoft.CognitiveServices/accounts/{accountName}/deployments/{deploymentName}",
    "azure-native:eventhub:Namespace": _RG + "Microsoft.EventHub/namespaces/{namespaceName}",
    "azure-native:eventhub:EventHub": _RG + "Microsoft.EventHub/namespaces/{namespaceName}/eventhubs/{eventHubName}",
    "azure-native:eventhub:ConsumerGroup": _RG
    + "Microsoft.EventHub/namespaces/{namespaceName}/eventhubs/{eventHubName}/consumergroups/{consumerGroupName}",
    "azure-native:storage:StorageAccount": _RG + "Microsoft.Storage/storageAccounts/{accountName}",
    "azure-native:storage:BlobContainer": _RG
    + "Microsoft.Storage/storageAccounts/{accountName}/blobServices/default/containers/{containerName}",
    "azure-native:redisenterprise:RedisEnterprise": _RG + "Microsoft.Cache/redisEnterprise/{clusterName}",
    "azure-native:redisenterprise:Database": _RG
    + "Microsoft.Cache/redisEnterprise/{clusterName}/databases/{databaseName}",
    "azure-native:keyvault:Vault": _RG + "Microsoft.KeyVault/vaults/{vaultName}",
    "azure-native:keyvault:Secret": _RG + "Microsoft.KeyVault/vaults/{vaultName}/secrets/{secretName}",
    "azure-native:apimanagement:ApiManagementService": _APIM,
    "azure-native:apimanagement:Logger": _APIM + "/loggers/{loggerId}",
    "azure-native:apimanagement:Diagnostic": _APIM + "/diagnostics/{diagnosticId}",
    "azure-native:apimanagement:Backend": _APIM + "/backends/{backendId}",
    "azure-native:apimanagement:NamedValue": _APIM + "/namedValues/{namedValueId}",
    "azure-native:apimanagement:PolicyFragment": _APIM + "/policyFragments/{id}",
    "azure-native:apimanagement:Policy": _APIM + "/policies/{policyId}",
    "azure-native:apimanagement:Api": _APIM + "/apis/{apiId}",
    "azure-native:apimanagement:ApiPolicy": _APIM + "/apis/{apiId}/policies/{policyId}",
    "azure-native:apimanagement:ApiOperation": _APIM + "/apis/{apiId}/operations/{operationId}",
    "azure-native:apimanagement:ApiDiagnostic": _APIM + "/apis/{apiId}/diagnostics/{diagnosticId}",
    "azure-native:apimanagement:Product": _APIM + "/products/{productId}",
    "azure-native:apimanagement:ProductPolicy": _APIM + "/products/{productId}/policies/{policyId}",
    "azure-native:apimanagement:ProductApiLink": _APIM + "/products/{productId}/apiLinks/{apiLinkId}",
    "azure-native:apimanagement:Subscription": _APIM + "/subscriptions/{sid}",
    "azure-native:apimanagement:Cache": _APIM + "/caches/{cacheId}",
}


class UnknownResourceType(Exception):
    pass


class AzureMocks(pulumi.runtime.Mocks):
    def __init__(self, stack: str) -> None:
        self.stack = stack
        self.computed: set[str] = set()
        # Keys and passwords: values the engine keeps encrypted. A plain value containing one is a leak.
        self.secrets: set[str] = set()
        # The engine registers resources concurrently, one thread each: what one registration asks to keep
        # secret (additionalSecretOutputs) must not reach another's outputs, so it is kept per thread.
        self._registration = threading.local()
        self.states: dict[str, dict[str, Any]] = {}

    # -- helpers -------------------------------------------------------------------------------
    def _fabricate(self, value: str) -> str:
        self.computed.add(value)
        return value

    def _secret(self, value: str) -> str:
        self.secrets.add(value)
        return value

    def _guid(self, *parts: str) -> str:
        return self._fabricate(str(uuid.uuid5(uuid.NAMESPACE_URL, "|".join((self.stack, *parts)))))

    def _random(self, name: str, length: int) -> str:
        alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
        digest = hashlib.shake_256(f"{self.stack}|{name}".encode()).digest(length)
        return "".join(alphabet[b % len(alphabet)] for b in digest)

    # -- Mocks -----------------------------------------------------------------------------------
    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        if args.token == "azure-native:authorization:getClientConfig":
            return {
                "clientId": CLIENT_ID,
                "objectId": OBJECT_ID,
                "subscriptionId": SUBSCRIPTION_ID,
                "tenantId": TENANT_ID,
            }, []
        if args.token == "azure-native:apimanagement:listSubscriptionSecrets":
            sid = str(args.args.get("sid"))
            return {
                "primaryKey": self._secret(hashlib.sha256(f"{self.stack}|{sid}|1".encode()).hexdigest()[:32]),
                "secondaryKey": self._secret(hashlib.sha256(f"{self.stack}|{sid}|2".encode()).hexdigest()[:32]),
            }, []
        if args.token == "azure-native:cognitiveservices:listAccountKeys":
            # Fabricated, remembered as computed: the plan shows [computed] even if one leaked unmasked.
            account = str(args.args.get("accountName"))
            return {
                "key1": self._secret(hashlib.sha256(f"{self.stack}|{account}|key1".encode()).hexdigest()),
                "key2": self._secret(hashlib.sha256(f"{self.stack}|{account}|key2".encode()).hexdigest()),
            }, []
        if args.token == "azure-native:redisenterprise:listDatabaseKeys":
            cluster = str(args.args.get("clusterName"))
            return {
                "primaryKey": self._secret(hashlib.sha256(f"{self.stack}|{cluster}|redis1".encode()).hexdigest()),
                "secondaryKey": self._secret(hashlib.sha256(f"{self.stack}|{cluster}|redis2".encode()).hexdigest()),
            }, []
        raise UnknownResourceType(f"the offline mocks have no canned answer for invoke {args.token}")

    def registering(self, secret_outputs: list[str]) -> None:
        """Called by the monitor on the registering thread, just before it calls `new_resource` there."""
        self._registration.secret_outputs = list(secret_outputs)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        resource_id, state = self._new_resource(args)
        secret_outputs: list[str] = getattr(self._registration, "secret_outputs", [])
        self._registration.secret_outputs = []
        return resource_id, _mark_secret(state, secret_outputs)

    def _new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        if not args.custom:
            return None, {}
        inputs = _plain(args.inputs)
        if args.typ == "random:index/randomPassword:RandomPassword":
            result = self._secret(self._random(args.name, int(inputs.get("length", 16))))
            return f"{args.name}-id", {**args.inputs, "result": result}
        if args.typ == "time:index/sleep:Sleep":
            # Waits only when created (or replaced); offline there is nothing to wait for.
            return f"{args.name}-sleep", dict(args.inputs)
        if args.typ == "random:index/randomString:RandomString":
            result = self._random(args.name, int(inputs.get("length", 8)))
            return result, {**args.inputs, "result": result}
        template = ARM_IDS.get(args.typ)
        if template is None:
            raise UnknownResourceType(
                f"{args.typ} ({args.name}) has no ARM id in tools/azure_mocks.py ARM_IDS; add it there"
            )
        try:
            resource_id = template.format(subscription=SUBSCRIPTION_ID, **inputs)
        except KeyError as missing:
            raise UnknownResourceType(
                f"{args.typ} ({args.name}) has no input {missing}: every Azure name must be explicit"
            ) from None
        state = {**args.inputs, **self._computed_outputs(args.typ, args.name, inputs, resource_id)}
        identity = state.get("identity")
        if isinstance(identity, dict) and isinstance(identity.get("userAssignedIdentities"), list):
            # Inputs list the identity ids; Azure answers with a map of id -> principal and client ids.
            state["identity"] = {
                **identity,
                "userAssignedIdentities": {
                    uid: {"principalId": self._guid(uid, "principal"), "clientId": self._guid(uid, "client")}
                    for uid in identity["userAssignedIdentities"]
                },
            }
        state["name"] = resource_id.rsplit("/", 1)[-1]
        self.states[resource_id] = inputs
        return resource_id, state

    def _computed_outputs(self, typ: str, name: str, inputs: dict[str, Any], resource_id: str) -> dict[str, Any]:
        if typ == "azure-native:managedidentity:UserAssignedIdentity":
            return {
                "principalId": self._guid(name, "principal"),
                "clientId": self._guid(name, "client"),
                "tenantId": TENANT_ID,
            }
        if typ == "azure-native:apimanagement:ApiManagementService":
            return self._apim_outputs(name, inputs)
        if typ == "azure-native:network:PublicIPAddress":
            label = (inputs.get("dnsSettings") or {}).get("domainNameLabel")
            out: dict[str, Any] = {"ipAddress": self._fabricate(_fake_public_ip(name))}
            if label:
                out["dnsSettings"] = {
                    "domainNameLabel": label,
                    "fqdn": f"{label}.{inputs.get('location', 'region')}.cloudapp.azure.com",
                }
            return out
        if typ == "azure-native:applicationinsights:Component":
            key = self._guid(name, "ikey")
            return {
                "instrumentationKey": key,
                "appId": self._guid(name, "app"),
                "connectionString": self._fabricate(
                    f"InstrumentationKey={key};IngestionEndpoint=https://{inputs.get('location')}"
                    ".in.applicationinsights.azure.com/"
                ),
            }
        if typ == "azure-native:operationalinsights:Workspace":
            return {"customerId": self._guid(name, "workspace")}
        if typ == "azure-native:cognitiveservices:Account":
            props = dict(inputs.get("properties") or {})
            subdomain = props.get("customSubDomainName", inputs.get("accountName"))
            host = "openai" if inputs.get("kind") == "OpenAI" else "cognitiveservices"
            props["endpoint"] = f"https://{subdomain}.{host}.azure.com/"
            return {"properties": props, "identity": self._system_identity(name, inputs)}
        if typ == "azure-native:eventhub:Namespace":
            return {
                "serviceBusEndpoint": f"https://{inputs['namespaceName']}.servicebus.windows.net:443/",
                "identity": self._system_identity(name, inputs),
            }
        if typ == "azure-native:redisenterprise:RedisEnterprise":
            return {"hostName": f"{inputs['clusterName']}.{inputs.get('location')}.redis.azure.net"}
        if typ == "azure-native:keyvault:Vault":
            props = dict(inputs.get("properties") or {})
            props["vaultUri"] = f"https://{inputs['vaultName']}.vault.azure.net/"
            return {"properties": props}
        if typ == "azure-native:keyvault:Secret":
            # Only the URIs: Azure never returns a secret's value.
            uri = f"https://{inputs['vaultName']}.vault.azure.net/secrets/{inputs['secretName']}"
            return {
                "properties": {
                    "secretUri": uri,
                    "secretUriWithVersion": f"{uri}/{self._guid(name, 'version').replace('-', '')}",
                }
            }
        if typ == "azure-native:storage:StorageAccount":
            return {"primaryEndpoints": {"blob": f"https://{inputs['accountName']}.blob.core.windows.net/"}}
        return {}

    def _system_identity(self, name: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
        identity = inputs.get("identity")
        if not identity:
            return None
        result = dict(identity)
        if "SystemAssigned" in str(identity.get("type", "")):
            result["principalId"] = self._guid(name, "system-principal")
            result["tenantId"] = TENANT_ID
        return result

    def _apim_outputs(self, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        service = inputs["serviceName"]
        out: dict[str, Any] = {
            "gatewayUrl": f"https://{service}.azure-api.net",
            "managementApiUrl": f"https://{service}.management.azure-api.net",
            "developerPortalUrl": f"https://{service}.developer.azure-api.net",
            "identity": self._system_identity(name, inputs),
        }
        identity = out["identity"] or {}
        users = identity.get("userAssignedIdentities") or {}
        if users:
            identity["userAssignedIdentities"] = {
                uid: {"principalId": self._guid(uid, "principal"), "clientId": self._guid(uid, "client")}
                for uid in users
            }
        subnet_id = (inputs.get("virtualNetworkConfiguration") or {}).get("subnetResourceId")
        prefix = self._subnet_prefix(subnet_id)
        if prefix and inputs.get("virtualNetworkType") in ("External", "Internal"):
            # Azure hands out the first address after the four it reserves in every subnet.
            network = ipaddress.ip_network(prefix)
            out["privateIPAddresses"] = [self._fabricate(str(network.network_address + 4))]
        if inputs.get("virtualNetworkType") != "Internal":
            out["publicIPAddresses"] = [self._fabricate(_fake_public_ip(name))]
        return out

    def _subnet_prefix(self, subnet_id: str | None) -> str | None:
        if not subnet_id:
            return None
        state = self.states.get(subnet_id) or {}
        return state.get("addressPrefix")


def identity_client_id(stack: str, identity_name: str) -> str:
    """The client id the mocks give the user-assigned identity `identity_name` (for tests that follow wiring)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "|".join((stack, identity_name, "client"))))


def _fake_public_ip(name: str) -> str:
    digest = hashlib.sha256(name.encode()).digest()
    # 20.0.0.0/8 is an Azure public range; the address itself is made up.
    return f"20.{digest[0]}.{digest[1]}.{max(1, digest[2])}"


def _mark_secret(state: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """Wrap the named outputs as the engine does for a resource's additionalSecretOutputs."""
    return {
        k: {rpc._special_sig_key: rpc._special_secret_sig, "value": v} if k in names and v is not None else v
        for k, v in state.items()
    }


def _plain(value: Any) -> Any:
    """Inputs with secrets unwrapped, for building ids and outputs (never for the plan)."""
    if rpc.is_rpc_secret(value):
        return _plain(rpc.unwrap_rpc_secret(value))
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
