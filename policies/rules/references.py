"""Every reference from one resource to another is covered by a recorded dependency (plan-only).

`pulumi up` creates resources in the order of their dependencies, and of nothing else. A resource that names
another with a plain value (an ARM id or name typed as a string, a parent name such as `serviceName`, a policy
document naming a fragment, backend, logger or named value) instead of that resource's output is free to be
created first, and fails or races on Azure although every offline check passes. The engine only knows the
dependencies, and during a real preview the ids and names of new resources are unknown; the offline plan knows
both, so this rule runs there, on the recorded resources.

A reference counts as covered when the target is reachable from the referring resource through its recorded
dependencies (explicit `depends_on` and the dependencies of its inputs), its custom-resource parent (a child
waits for its parent's registration), or the children of a component it depends on, directly or transitively.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from pulumi_policy import ReportViolation, Secret

from .base import _is_list, elements, last_segment, short_type

POLICY_DOCUMENT_TYPES = (
    "azure-native:apimanagement:ApiPolicy",
    "azure-native:apimanagement:ApiOperationPolicy",
    "azure-native:apimanagement:ProductPolicy",
    "azure-native:apimanagement:PolicyFragment",
    "azure-native:apimanagement:Policy",
)
FRAGMENT = "azure-native:apimanagement:PolicyFragment"
BACKEND = "azure-native:apimanagement:Backend"
LOGGER = "azure-native:apimanagement:Logger"
NAMED_VALUE = "azure-native:apimanagement:NamedValue"
_NAMED_VALUE_REF = re.compile(r"\{\{\s*([A-Za-z0-9._-]+)\s*\}\}")
_ARM_ID = re.compile(r"^/subscriptions/[^/]+/", re.IGNORECASE)
# A host name of a service endpoint: its first label is the resource's name (an account's custom subdomain, an
# Event Hubs namespace, an APIM service, a storage account, a vault, a Redis cluster).
_SERVICE_HOST = re.compile(
    r"^(?:https?://)?([a-z0-9][a-z0-9-]*)\.(?:[a-z0-9-]+\.)?(?:openai\.azure\.com|cognitiveservices\.azure\.com|"
    r"servicebus\.windows\.net|azure-api\.net|blob\.core\.windows\.net|vault\.azure\.net|redis\.azure\.net)"
    r"(?:[:/]|$)",
    re.IGNORECASE,
)


class _Resource(Protocol):
    """What this module reads of a resource (plan_only.PlanResource provides it)."""

    urn: str
    type: str
    name: str
    parent: str | None
    custom: bool
    id: str | None
    inputs: Mapping[str, object]
    dependencies: Sequence[str]
    property_dependencies: Mapping[str, Sequence[str]]


@dataclass(frozen=True)
class Reference:
    source: str  # urn
    target: str  # urn
    via: str  # input path, or the policy document element that names the target


def _strings(value: object, path: str) -> Iterator[tuple[str, str]]:
    """Every plain string in an input value with its path; secrets are not looked into."""
    if isinstance(value, Secret):
        return
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}" if path else str(key))
    elif _is_list(value):
        for i, item in enumerate(value):  # type: ignore[arg-type]
            yield from _strings(item, f"{path}[{i}]")


class ReferenceIndex:
    """What each resource is known by in the plan: its ARM id, its own name under an input key, its APIM ids."""

    def __init__(self, resources: Sequence[_Resource]) -> None:
        self.resources = list(resources)
        self.by_urn = {r.urn: r for r in self.resources}
        self.by_id: dict[str, str] = {}
        # (input key, name) -> urns: a resource whose id ends in the name it holds under that key (`serviceName`
        # of the APIM service, `accountName` of an account, `resourceGroupName` of the resource group).
        self.by_own_name: dict[tuple[str, str], list[str]] = {}
        # APIM entities policy documents name: (type, service name, entity id) -> urn.
        self.apim_entities: dict[tuple[str, str, str], str] = {}
        # Resource name (the last segment of its id) -> urns, for host names that carry it.
        self.by_name: dict[str, list[str]] = {}
        for r in self.resources:
            if not r.custom or not r.id:
                continue
            self.by_id[r.id.lower()] = r.urn
            own = last_segment(r.id).lower()
            self.by_name.setdefault(own, []).append(r.urn)
            for key, value in r.inputs.items():
                if isinstance(value, str) and value.lower() == own:
                    self.by_own_name.setdefault((key, own), []).append(r.urn)
            service = str(r.inputs.get("serviceName") or "").lower()
            keys = {
                FRAGMENT: ("id",),
                BACKEND: ("backendId",),
                LOGGER: ("loggerId",),
                NAMED_VALUE: ("displayName", "namedValueId"),
            }.get(r.type, ())
            for key in keys:
                entity = r.inputs.get(key)
                if isinstance(entity, str) and entity:
                    self.apim_entities[(r.type, service, entity.lower())] = r.urn

    def _by_arm_id(self, value: str) -> str | None:
        """The resource an ARM id names; for a sub-resource (`<gateway id>/frontendPorts/https`, `<vault id>/secrets/x`)
        its closest declared ancestor."""
        candidate = value.lower().rstrip("/")
        while candidate.count("/") > 2:
            if candidate in self.by_id:
                return self.by_id[candidate]
            candidate = candidate.rsplit("/", 1)[0]
        return None

    def references(self, resource: _Resource) -> Iterator[Reference]:
        seen: set[tuple[str, str]] = set()

        def found(target: str | None, via: str) -> Iterator[Reference]:
            if target is None or target == resource.urn or (target, via) in seen:
                return
            seen.add((target, via))
            yield Reference(resource.urn, target, via)

        for path, value in _strings(resource.inputs, ""):
            if _ARM_ID.match(value):
                yield from found(self._by_arm_id(value), path)
            elif (host := _SERVICE_HOST.match(value)) is not None:
                for target in self.by_name.get(host.group(1).lower(), []):
                    yield from found(target, path)
        own = last_segment(resource.id).lower() if resource.id else ""
        for key, named in resource.inputs.items():
            # A resource's own name is unique only under its parent (every diagnostic setting is 'default'):
            # the key naming the resource itself is not a reference.
            if isinstance(named, str) and named and named.lower() != own:
                for target in self.by_own_name.get((key, named.lower()), []):
                    yield from found(target, key)
        if resource.type in POLICY_DOCUMENT_TYPES:
            for entity, via in self._document_references(resource):
                yield from found(entity, via)

    def _document_references(self, resource: _Resource) -> Iterator[tuple[str | None, str]]:
        """(target urn or None when undeclared, how the document names it) for each entity a document names."""
        document = resource.inputs.get("value")
        if not isinstance(document, str):
            return
        service = str(resource.inputs.get("serviceName") or "").lower()
        named: list[tuple[str, str, str]] = []
        for attributes in elements(document, "include-fragment"):
            named.append((FRAGMENT, attributes.get("fragment-id", ""), "fragment-id"))
        for tag in ("set-backend-service", "llm-semantic-cache-lookup", "azure-openai-semantic-cache-lookup",
                    "llm-content-safety"):
            for attributes in elements(document, tag):
                for name, value in attributes.items():
                    if name.endswith("backend-id"):
                        named.append((BACKEND, value, name))
        for tag in ("log-to-eventhub", "emit-metric", "llm-emit-token-metric", "azure-openai-emit-token-metric"):
            for attributes in elements(document, tag):
                if attributes.get("logger-id"):
                    named.append((LOGGER, attributes["logger-id"], "logger-id"))
        for match in _NAMED_VALUE_REF.finditer(document):
            named.append((NAMED_VALUE, match.group(1), "{{named value}}"))
        for kind, entity, attribute in named:
            if not entity or entity.startswith("@"):
                continue  # an expression is resolved at run time
            yield self.apim_entities.get((kind, service, entity.lower())), f"value: {attribute} '{entity}'"


class DependencyClosure:
    """What each resource waits for, directly or transitively."""

    def __init__(self, index: ReferenceIndex) -> None:
        self.index = index
        self.children: dict[str, list[str]] = {}
        for r in index.resources:
            if r.parent:
                self.children.setdefault(r.parent, []).append(r.urn)
        self._closure: dict[str, frozenset[str]] = {}

    def _direct(self, urn: str) -> set[str]:
        resource = self.index.by_urn.get(urn)
        if resource is None:
            return set()
        direct = set(resource.dependencies)
        for urns in resource.property_dependencies.values():
            direct.update(urns)
        parent = self.index.by_urn.get(resource.parent or "")
        if parent is not None and parent.custom:
            direct.add(parent.urn)
        # Waiting for a component means waiting for everything in it.
        expanded, todo = set(), list(direct)
        while todo:
            current = todo.pop()
            if current in expanded:
                continue
            expanded.add(current)
            node = self.index.by_urn.get(current)
            if node is not None and not node.custom:
                todo.extend(self.children.get(current, []))
        return expanded

    def of(self, urn: str) -> frozenset[str]:
        if urn in self._closure:
            return self._closure[urn]
        reached: set[str] = set()
        todo = list(self._direct(urn))
        while todo:
            current = todo.pop()
            if current in reached:
                continue
            reached.add(current)
            if current in self._closure:
                reached |= self._closure[current]
                continue
            todo.extend(self._direct(current))
        self._closure[urn] = frozenset(reached)
        return self._closure[urn]


def uncovered_references(resources: Sequence[_Resource]) -> list[Reference]:
    index = ReferenceIndex(resources)
    closure = DependencyClosure(index)
    missing = []
    for resource in index.resources:
        if not resource.custom:
            continue
        for reference in index.references(resource):
            if reference.target not in closure.of(resource.urn):
                missing.append(reference)
    return sorted(missing, key=lambda r: (r.source, r.target, r.via))


def check_references(resources: Sequence[_Resource], report_violation: ReportViolation) -> None:
    by_urn = {r.urn: r for r in resources}
    for reference in uncovered_references(resources):
        source, target = by_urn[reference.source], by_urn[reference.target]
        report_violation(
            f"{short_type(source.type)} '{source.name}' refers to {short_type(target.type)} '{target.name}' "
            f"({reference.via}) but does not depend on it, directly or through another resource, so `pulumi up` "
            f"may create it first: pass '{target.name}''s output (its .id or .name) instead of a plain value, or add "
            "it to depends_on.",
            source.urn,
        )

