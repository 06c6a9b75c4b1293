"""The names a recorded stack declares (backends, loggers, fragments, named values and their values, caches),
which its policy documents may refer to."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ..harness import Secret
from ..policy_expressions import mask
from .model import FRAGMENT_TYPE, References


def references_of(recording: Any) -> References:
    """The names a recorded stack declares, for reference checks."""
    of = recording.of_type
    return References(
        backends=_names(of("azure-native:apimanagement:Backend"), "backendId")
        | _arm_backend_ids(of("azure-native:resources:Deployment")),
        loggers=_names(of("azure-native:apimanagement:Logger"), "loggerId"),
        fragments=frozenset(fragment_id(r) for r in of(FRAGMENT_TYPE)),
        named_values=_names(of("azure-native:apimanagement:NamedValue"), "displayName", "namedValueId"),
        caches=_names(of("azure-native:apimanagement:Cache"), "cacheId"),
        named_value_values=_named_value_values(of("azure-native:apimanagement:NamedValue")),
    )


def fragment_id(resource: Any) -> str:
    value = resource.get("id")  # the SDK's `id` argument is the fragment's name (policyFragments/{id})
    return value if isinstance(value, str) else str(resource.name)


def _names(resources: Iterable[Any], key: str, fallback: str | None = None) -> frozenset[str]:
    names = set()
    for resource in resources:
        value = resource.get(key)
        if not isinstance(value, str) and fallback:
            value = resource.get(fallback)
        if isinstance(value, str):
            names.add(value)
    return frozenset(names)


# A backend declared inside an ARM deployment's template (properties the typed SDK cannot send), named
# `[format('{0}/<backend id>', parameters('serviceName'))]` or `<service>/<backend id>`.
_ARM_BACKEND_TYPE = "microsoft.apimanagement/service/backends"
_ARM_CHILD_NAME = re.compile(r"^(?:\[format\('\{0\}/(?P<formatted>[^'/]+)'.*\]|[^/\[]+/(?P<plain>[^/]+))$")


def _arm_backend_ids(deployments: Iterable[Any]) -> frozenset[str]:
    names = set()
    for deployment in deployments:
        declared = deployment.get("properties.template.resources") or []
        for resource in declared if isinstance(declared, list) else []:
            if not isinstance(resource, dict) or str(resource.get("type", "")).lower() != _ARM_BACKEND_TYPE:
                continue
            match = _ARM_CHILD_NAME.match(str(resource.get("name", "")))
            if match:
                names.add(match.group("formatted") or match.group("plain"))
    return frozenset(names)


def _named_value_values(resources: Iterable[Any]) -> dict[str, str | None]:
    """displayName -> what the compile step puts for `{{displayName}}`: the declared value; for a secret the
    plan holds, a mask of the same form (tools.policy_expressions.mask: never the secret itself); None for a
    Key Vault reference or a value known only after deployment (the compile step puts a placeholder there)."""
    values: dict[str, str | None] = {}
    for resource in resources:
        name = resource.get("displayName") or resource.get("namedValueId")
        if not isinstance(name, str):
            continue
        value = resource.get("value")
        if not isinstance(value, str) or resource.get("keyVault") is not None:
            values[name] = None
        else:
            secret = bool(resource.get("secret")) or isinstance(resource.inputs.get("value"), Secret)
            values[name] = mask(value) if secret else value
    return values
