"""The components this package serves to other Pulumi programs, and the provider host that serves them.

Pulumi runs `__main__.py` of this directory (PulumiPlugin.yaml) as a provider plugin; the Python SDK's component
provider infers the schema (`genai-gateway:index:<Component>`) from the `args` annotation of each component's
`__init__` and the output annotations of its class. `serve` does what the SDK's `component_provider_host` does,
with one correction (`GatewayComponentProvider`).
"""

from typing import Any

import pulumi
from pulumi.errors import InputPropertyError
from pulumi.provider.experimental.analyzer import PropertyDefinition, PropertyType
from pulumi.provider.experimental.component import ComponentProvider

from .alerts import GatewayAlerts
from .apim_baseline import ApimBaseline
from .consumer_keys import ConsumerKeyVault
from .content_safety import ContentSafety
from .gateway_policies import GatewayPolicies
from .private_openai import PrivateOpenAI
from .semantic_cache import SemanticCache
from .token_telemetry import TokenTelemetryHub
from .usage_workbook import UsageWorkbook
from .waf_ingress import WafIngress

PACKAGE_NAME = "genai-gateway"
PACKAGE_VERSION = "0.1.0"

# Every component: their Args are plain typed records (TypedDicts of pulumi.Input values), which the host can
# build from any language's inputs.
COMPONENTS: list[type[pulumi.ComponentResource]] = [
    ApimBaseline, ConsumerKeyVault, ContentSafety, GatewayAlerts, GatewayPolicies, PrivateOpenAI, SemanticCache,
    TokenTelemetryHub, UsageWorkbook, WafIngress,
]


def _whole(value: Any, prop: PropertyDefinition, path: str) -> Any:
    if prop.type == PropertyType.INTEGER and isinstance(value, float):
        if not value.is_integer():
            raise InputPropertyError(path, f"{path} = {value!r}: must be a whole number")
        return int(value)
    if prop.items is not None and isinstance(value, list):
        return [_whole(v, prop.items, f"{path}[{i}]") for i, v in enumerate(value)]
    if prop.additional_properties is not None and isinstance(value, dict) and prop.ref is None:
        return {k: _whole(v, prop.additional_properties, f"{path}.{k}") for k, v in value.items()}
    return value


class GatewayComponentProvider(ComponentProvider):
    """The SDK's component provider, with whole numbers kept whole.

    The engine sends every number as a float. pulumi 3.272's `map_input_properties` converts an integer property
    with `int()` and then overwrites the result with the float it received (no `continue` after the conversion,
    pulumi/provider/experimental/component.py), so a consumer's `tokensPerMinute: 20000` from TypeScript would reach
    the product policy as `tokens-per-minute="20000.0"`, which APIM refuses. Nested records go through this method
    too (the SDK recurses through `self`), so integers in records, lists and maps are restored here.
    """

    def map_input_properties(
        self,
        inputs: Any,
        properties: dict[str, PropertyDefinition],
        mapping: dict[str, str],
        component_name: str,
        property_path: str,
    ) -> Any:
        mapped = super().map_input_properties(inputs, properties, mapping, component_name, property_path)
        for schema_name, prop in properties.items():
            py_name = mapping.get(schema_name)
            if py_name is not None and isinstance(mapped, dict) and py_name in mapped:
                path = f"{property_path}.{schema_name}" if property_path else schema_name
                mapped[py_name] = _whole(mapped[py_name], prop, path)
        return mapped


def provider() -> GatewayComponentProvider:
    return GatewayComponentProvider(COMPONENTS, PACKAGE_NAME, None, PACKAGE_VERSION)


def serve() -> None:
    import sys

    from pulumi.provider import main

    # As component_provider_host: the engine passes the plugin's directory first, then its address and flags.
    main(provider(), sys.argv[1:])
