"""components/ is a Pulumi component package: its schema, inferred offline by the SDK's own analyzer, and its wheel."""

from __future__ import annotations

import json
import select
import shutil
import subprocess
import sys
import zipfile
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.provider import PACKAGE_NAME, PACKAGE_VERSION, provider

PACKAGE_DIR = Path(__file__).resolve().parent.parent / "components"


@cache
def schema() -> dict[str, Any]:
    # The provider the plugin host serves computes its schema exactly so (no engine, no network).
    return json.loads(provider().schema)


def resource(name: str) -> dict[str, Any]:
    return schema()["resources"][f"{PACKAGE_NAME}:index:{name}"]


def kind(prop: dict[str, Any]) -> str:
    """`string`, `integer`, `array<...>`, `map<...>` or the referenced type's name."""
    if "$ref" in prop:
        return prop["$ref"].rsplit(":", 1)[-1].rsplit("/", 1)[-1]
    if prop["type"] == "array":
        return f"array<{kind(prop['items'])}>"
    if prop["type"] == "object" and "additionalProperties" in prop:
        return f"map<{kind(prop['additionalProperties'])}>"
    return str(prop["type"])


def test_the_package_serves_every_component() -> None:
    assert set(schema()["resources"]) == {
        f"{PACKAGE_NAME}:index:{n}"
        for n in (
            "ApimBaseline", "ConsumerKeyVault", "ContentSafety", "GatewayAlerts", "GatewayPolicies", "PrivateOpenAI",
            "SemanticCache", "TokenTelemetryHub", "UsageWorkbook", "WafIngress",
        )
    }
    assert all(r["isComponent"] for r in schema()["resources"].values())
    assert schema()["name"] == PACKAGE_NAME and schema()["version"] == PACKAGE_VERSION


EXPECTED_INPUTS = {
    "ApimBaseline": {
        "location": "string", "namePrefix": "string", "environment": "string", "addressSpace": "string",
        "subnets": "SubnetPrefixes", "existingNetwork": "ExistingNetwork", "existingWorkspaceId": "string",
        "apim": "ApimService", "privateEndpointClients": "array<string>",
        "observability": "Observability", "ingress": "WafIngressSpec", "tags": "map<string>",
        "protectStateful": "boolean",
    },
    "PrivateOpenAI": {
        "accounts": "array<OpenAIAccount>", "location": "string", "namePrefix": "string", "environment": "string",
        "nameSuffix": "string", "resourceGroupName": "string", "vnetId": "string", "privateDnsZoneId": "string",
        "privateEndpointSubnetId": "string", "roleAssignments": "array<RoleAssignment>",
        "diagnosticSettings": "array<DiagnosticSetting>", "tags": "map<string>", "protectAccounts": "boolean",
    },
    "TokenTelemetryHub": {
        "location": "string", "namePrefix": "string", "environment": "string", "nameSuffix": "string",
        "resourceGroupName": "string", "vnetId": "string", "eventHubsDnsZoneId": "string",
        "blobDnsZoneId": "string", "privateEndpointSubnetId": "string", "workspaceId": "string",
        "apimName": "string", "apimId": "string", "gatewayPrincipalId": "string",
        "gatewayClientId": "string", "eventHub": "EventHubOptions", "capture": "CaptureOptions",
        "tags": "map<string>", "protectStateful": "boolean",
    },
    "ContentSafety": {
        "namePrefix": "string", "environment": "string", "nameSuffix": "string", "accountLocation": "string",
        "location": "string", "resourceGroupName": "string", "privateEndpointSubnetId": "string",
        "apimName": "string", "apimId": "string", "backendIdentityClientId": "string",
        "policy": "ContentSafetyPolicy", "privateDnsZoneId": "string", "vnetId": "string",
        "roleAssignments": "array<RoleAssignment>", "diagnosticSettings": "array<DiagnosticSetting>",
        "tags": "map<string>", "protectStateful": "boolean",
    },
    "SemanticCache": {
        "namePrefix": "string", "environment": "string", "nameSuffix": "string", "location": "string",
        "resourceGroupName": "string", "apimName": "string", "apimId": "string", "privateEndpointSubnetId": "string",
        "embeddings": "EmbeddingsBackend", "circuitBreaker": "CircuitBreaker", "behaviour": "CacheBehaviour",
        "redisSku": "string", "highAvailability": "boolean", "privateDnsZoneId": "string", "vnetId": "string",
        "diagnosticSettings": "array<DiagnosticSetting>", "tags": "map<string>",
    },
    "UsageWorkbook": {
        "resourceGroupName": "string", "location": "string", "name": "string", "displayName": "string",
        "workspaceId": "string", "backendTiers": "map<string>", "apiId": "string",
        "endpointTiers": "array<EndpointTier>", "tags": "map<string>", "consumerQuotas": "map<integer>",
    },
    "GatewayPolicies": {
        "resourceGroupName": "string", "apimName": "string", "apimId": "string", "identityClientId": "string",
        "appInsightsLoggerId": "string", "usageLoggerName": "string", "usageLoggerId": "string",
        "accounts": "array<BackendAccount>", "pools": "array<BackendPool>", "routing": "Routing",
        "tokenLimits": "TokenLimits", "consumers": "array<Consumer>", "hashClientIp": "boolean",
        "samplingPercentage": "number", "logClientIp": "boolean", "entraId": "EntraIdCallers",
        "includedFragments": "array<IncludedFragment>", "appGatewaySubnet": "string",
    },
    "GatewayAlerts": {
        "resourceGroupName": "string", "location": "string", "namePrefix": "string", "workspaceId": "string",
        "apimName": "string", "apimId": "string", "emailReceivers": "array<EmailReceiver>",
        "quotas": "array<QuotaAlert>", "quotaWarningPercent": "integer", "throttling": "Throttling",
        "ptuDeployments": "array<PtuDeployment>", "ptuUtilizationPercent": "integer",
        "circuitBreaker": "CircuitBreaker", "tags": "map<string>", "azureMonitorLoggerId": "string",
    },
    "ConsumerKeyVault": {
        "namePrefix": "string", "environment": "string", "nameSuffix": "string", "location": "string",
        "resourceGroupName": "string", "privateEndpointSubnetId": "string", "deliveries": "array<KeyDelivery>",
        "privateDnsZoneId": "string", "vnetId": "string", "diagnosticSettings": "array<DiagnosticSetting>",
        "tags": "map<string>", "protectStateful": "boolean",
    },
}


@pytest.mark.parametrize("component", sorted(EXPECTED_INPUTS))
def test_every_input_is_in_the_schema_with_its_type(component: str) -> None:
    inputs = resource(component)["inputProperties"]
    assert {name: kind(prop) for name, prop in inputs.items()} == EXPECTED_INPUTS[component]


def test_required_inputs_are_the_args_without_defaults() -> None:
    assert resource("ApimBaseline")["requiredInputs"] == sorted(["location", "namePrefix", "environment", "apim"])
    assert "roleAssignments" not in resource("PrivateOpenAI")["requiredInputs"]
    assert "capture" not in resource("TokenTelemetryHub")["requiredInputs"]
    # A landing zone brings the network and the zones instead: neither the VNet nor a zone id is required.
    for component in ("PrivateOpenAI", "TokenTelemetryHub"):
        assert "vnetId" not in resource(component)["requiredInputs"]
    existing = schema()["types"][f"{PACKAGE_NAME}:index:ExistingNetwork"]
    assert existing["required"] == ["apimSubnetId", "privateEndpointSubnetId", "vnetId"]
    assert not existing["properties"]["vnetId"].get("plain")


def test_gateway_policies_need_the_service_the_accounts_and_the_consumers_but_no_optional_capability() -> None:
    required = set(resource("GatewayPolicies")["requiredInputs"])
    assert {"apimName", "apimId", "accounts", "pools", "tokenLimits", "consumers", "usageLoggerId"} <= required
    assert not required & {"entraId", "includedFragments", "appGatewaySubnet", "hashClientIp", "routing",
                            "usageLoggerName"}


def test_an_included_fragment_is_named_plainly_and_waited_for_by_its_resource_id() -> None:
    fragment = schema()["types"][f"{PACKAGE_NAME}:index:IncludedFragment"]["properties"]
    assert fragment["fragmentId"].get("plain") and fragment["section"].get("plain")
    assert not fragment["resourceId"].get("plain")


def test_a_consumer_key_delivered_to_the_vault_is_an_input_so_it_stays_secret() -> None:
    delivery = schema()["types"][f"{PACKAGE_NAME}:index:KeyDelivery"]["properties"]
    assert not delivery["key"].get("plain") and not delivery["readerPrincipalId"].get("plain")


def test_ids_from_other_resources_are_inputs_not_plain_values() -> None:
    # A subnet id or a principal id comes from another resource's output in the caller's program.
    openai, telemetry = resource("PrivateOpenAI")["inputProperties"], resource("TokenTelemetryHub")["inputProperties"]
    for prop in ("vnetId", "privateEndpointSubnetId", "resourceGroupName", "nameSuffix"):
        assert not openai[prop].get("plain"), prop
    assert not telemetry["gatewayPrincipalId"].get("plain")
    role = schema()["types"][f"{PACKAGE_NAME}:index:RoleAssignment"]["properties"]
    assert not role["principalId"].get("plain") and role["role"].get("plain")


EXPECTED_OUTPUTS = {
    "ApimBaseline": {
        "resourceGroupName", "nameSuffix", "vnetId", "apimSubnetId", "privateEndpointSubnetId", "apimId", "apimName",
        "gatewayUrl", "publicBaseUrl", "identityId", "identityPrincipalId", "identityClientId", "systemPrincipalId",
        "workspaceId", "appInsightsId", "appInsightsLoggerId",
    },
    "PrivateOpenAI": {"dnsZoneId", "summary"},
    "TokenTelemetryHub": {"usageLoggerName", "usageLoggerId", "namespaceName", "eventHubName", "eventHubId"},
    "WafIngress": {"publicIpAddress", "wafPolicyId"},
    "UsageWorkbook": {"workbookId"},
    "ContentSafety": {"accountName", "endpoint", "policyFragmentId"},
    "SemanticCache": {"redisHostName", "lookupPolicyFragmentId", "storePolicyFragmentId"},
    "GatewayPolicies": {"apiId", "v1ApiId", "azureMonitorLoggerId", "backendIds", "consumerKeys"},
    "GatewayAlerts": {"actionGroupId"},
    "ConsumerKeyVault": {"vaultName", "vaultId", "secretUris"},
}
# Outputs that are not one string.
OUTPUT_KINDS = {
    "summary": "array<map<Any>>", "backendIds": "array<string>", "consumerKeys": "map<string>",
    "secretUris": "map<string>",
}


@pytest.mark.parametrize("component", sorted(EXPECTED_OUTPUTS))
def test_every_output_is_in_the_schema_with_its_type(component: str) -> None:
    outputs = resource(component)["properties"]
    assert set(outputs) == EXPECTED_OUTPUTS[component]
    for name, prop in outputs.items():
        assert kind(prop) == OUTPUT_KINDS.get(name, "string"), name


def test_records_carry_their_fields_and_which_are_required() -> None:
    types = schema()["types"]
    account = types[f"{PACKAGE_NAME}:index:OpenAIAccount"]
    assert {n: kind(p) for n, p in account["properties"].items()} == {
        "name": "string", "location": "string", "tier": "string",
        "deployments": "array<ModelDeployment>", "simulated": "boolean",
    }
    assert account["required"] == ["deployments", "location", "name", "tier"]
    deployment = types[f"{PACKAGE_NAME}:index:ModelDeployment"]["properties"]
    assert kind(deployment["capacity"]) == "integer" and kind(deployment["sku"]) == "string"
    subnets = types[f"{PACKAGE_NAME}:index:SubnetPrefixes"]
    assert subnets["required"] == ["apim", "privateEndpoints"] and "appGateway" in subnets["properties"]


def test_the_plugin_runs_this_directory_with_the_python_runtime() -> None:
    plugin = yaml.safe_load((PACKAGE_DIR / "PulumiPlugin.yaml").read_text())
    assert plugin["runtime"]["name"] == "python"
    main = (PACKAGE_DIR / "__main__.py").read_text()
    assert "serve()" in main and 'if __name__ == "__main__"' in main
    assert "main(provider(), sys.argv[1:])" in (PACKAGE_DIR / "provider.py").read_text()


def test_the_wheel_ships_the_package_with_its_plugin_files(tmp_path: Path) -> None:
    # Built from a copy: setuptools leaves build/ and *.egg-info next to the sources.
    source = tmp_path / "components"
    shutil.copytree(PACKAGE_DIR, source, ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(tmp_path),
         str(source)],
        check=True, capture_output=True,
    )
    (wheel,) = tmp_path.glob("genai_gateway_components-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"components/__init__.py", "components/apim_baseline.py", "components/settings/__init__.py"} <= names
    assert {"components/PulumiPlugin.yaml", "components/provider.py"} <= names
    data = {
        *(f"components/fragments/{p.name}" for p in (PACKAGE_DIR / "fragments").glob("*.xml.j2")),
        "components/schemas/usage-record.v1.json",
        "components/schemas/usage-record.v2.json",
        "components/workbooks/usage.workbook.json",
        "components/pricing/prices.json",
    }
    assert len(data) > 10 and data <= names


def test_every_data_file_the_components_read_lies_inside_the_package() -> None:
    from components import policy_templates, usage_record, usage_workbook
    from components.settings import prices

    for path in (
        policy_templates.FRAGMENTS_DIR, usage_record.SCHEMA_PATH, usage_record.V1_SCHEMA_PATH,
        usage_workbook.WORKBOOK_PATH, prices.PRICES_PATH,
    ):
        assert path.exists() and path.resolve().is_relative_to(PACKAGE_DIR), path


def test_the_plugin_entry_point_starts_the_provider_and_reports_its_port() -> None:
    # What the engine does after `pulumi package add`: run the directory, read the gRPC port from stdout.
    # The provider binds 127.0.0.1 only; the engine address is never dialled before a request arrives.
    process = subprocess.Popen(
        [sys.executable, str(PACKAGE_DIR), "127.0.0.1:1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        cwd=PACKAGE_DIR.parent.parent,
    )
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 60)
        assert ready, "the provider printed no port within 60 s"
        port = process.stdout.readline().decode().strip()
        assert port.isdigit() and int(port) > 0, process.stderr.read().decode() if process.stderr else port
    finally:
        process.kill()
        process.wait(timeout=10)


def test_whole_numbers_from_another_language_stay_whole_in_the_rendered_policies() -> None:
    # The engine sends every number as a float; the SDK's mapper of pulumi 3.272 keeps the float (see provider.py).
    from components.gateway_fragments import HEADERS
    from components.gateway_inputs import gateway_model
    from components.policy_templates import render
    from tests.test_gateway_inputs import valid

    wire = json.loads(json.dumps(camel(valid())), parse_int=float)
    host = provider()
    args = host.map_inputs(wire, host._component_defs["GatewayPolicies"])
    model = gateway_model(args)
    policy = render("product-policy", consumer=model.consumers[0], headers=HEADERS)
    assert 'tokens-per-minute="5000"' in policy and 'token-quota="1000000"' in policy
    assert model.pools[0].members[0].priority == 1 and isinstance(model.backend_timeout_seconds, int)


def test_a_fraction_where_a_whole_number_belongs_is_refused_with_its_path() -> None:
    from pulumi.errors import InputPropertyError

    from tests.test_gateway_inputs import valid

    wire = camel(valid())
    wire["consumers"][0]["tokensPerMinute"] = 12.5
    host = provider()
    with pytest.raises(InputPropertyError, match=r"consumers\[0\]\.tokensPerMinute = 12\.5: must be a whole number"):
        host.map_inputs(wire, host._component_defs["GatewayPolicies"])


def camel(value: Any) -> Any:
    """Args as another language sends them: camelCase names."""
    if isinstance(value, dict):
        return {_camel(k): camel(v) for k, v in value.items()}
    return [camel(v) for v in value] if isinstance(value, list) else value


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)
