"""The components this package serves to other Pulumi programs, and the provider host that serves them.

Pulumi runs `__main__.py` of this directory (PulumiPlugin.yaml) as a provider plugin; the Python SDK's
`component_provider_host` infers the schema (`genai-gateway:index:<Component>`) from the `args` annotation of
each component's `__init__` and the output annotations of its class.
"""

import pulumi

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


def serve() -> None:
    from pulumi.provider.experimental import component_provider_host

    component_provider_host(COMPONENTS, name=PACKAGE_NAME, version=PACKAGE_VERSION)
