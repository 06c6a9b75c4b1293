"""ARM template deployments for the few properties the typed SDK cannot send.

pulumi-azure-native 3.x pins `apimanagement` to API version 2024-05-01, which lacks an API diagnostic's
`largeLanguageModel` (2025-09-01-preview) and a backend's `credentials.managedIdentity` (accepted by the
resource provider, absent from the schema: Azure/azure-rest-api-specs#32665, Azure/apiops#872). The SDK's
generic `resources.Resource` could carry raw properties, but has open reports of ignoring the API version it is
given (pulumi/pulumi-azure-native#4109, #4337), which would silently drop exactly these properties. A
`resources.Deployment` hands ARM a template whose every resource names its own `apiVersion`, so the properties
arrive as written under every reading. Incremental mode: the deployment never deletes what it does not declare.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
from pulumi_azure_native import resources

TEMPLATE_SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"


def template(
    declared: Sequence[Mapping[str, Any]], parameters: Sequence[str], outputs: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """An ARM template of `declared` resources taking string `parameters`."""
    document: dict[str, Any] = {
        "$schema": TEMPLATE_SCHEMA,
        "contentVersion": "1.0.0.0",
        "parameters": {name: {"type": "string"} for name in parameters},
        "resources": [dict(r) for r in declared],
    }
    if outputs:
        document["outputs"] = dict(outputs)
    return document


def arm_deployment(
    name: str,
    *,
    deployment_name: str,
    resource_group_name: pulumi.Input[str],
    declared: Sequence[Mapping[str, Any]],
    parameters: Mapping[str, pulumi.Input[str]],
    parent: pulumi.Resource,
    depends_on: Sequence[pulumi.Resource] = (),
) -> resources.Deployment:
    return resources.Deployment(
        name,
        deployment_name=deployment_name,
        resource_group_name=resource_group_name,
        properties=resources.DeploymentPropertiesArgs(
            mode=resources.DeploymentMode.INCREMENTAL,
            template=template(declared, list(parameters)),
            parameters={key: resources.DeploymentParameterArgs(value=value) for key, value in parameters.items()},
        ),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on)),
    )
