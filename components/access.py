"""Role assignments (AVM vocabulary: `role_assignments`) with deterministic GUID names."""


import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NotRequired, TypedDict

import pulumi
from pulumi_azure_native import authorization

# Built-in role definition GUIDs (least privilege for each data-plane task).
ROLE_DEFINITIONS: dict[str, str] = {
    "Cognitive Services OpenAI User": "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd",
    "Cognitive Services User": "a97b65f3-24c7-4388-baec-2e87135dc908",
    "Azure Event Hubs Data Sender": "2b629674-e913-4c01-ae53-ef4638d8f975",
    "Monitoring Metrics Publisher": "3913510d-42f4-4e42-8a64-420c390055eb",
    "Storage Blob Data Contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
}

_NAMESPACE = uuid.UUID("7d7c1c52-3c55-4c55-9a61-6c1b0b6f2a10")


@dataclass(frozen=True)
class RoleAssignmentSpec:
    role: str
    principal_id: pulumi.Input[str]
    principal_type: str = "ServicePrincipal"
    description: str = ""
    # Tells apart two assignments of one role on one scope (e.g. the gateway's two identities).
    label: str = ""

    def __post_init__(self) -> None:
        if self.role not in ROLE_DEFINITIONS:
            raise ValueError(f"unknown role {self.role!r}; known: {', '.join(ROLE_DEFINITIONS)}")


class RoleAssignment(TypedDict):
    """A built-in role granted to a principal on the component's resources (AVM `role_assignments`)."""

    role: str  # a key of ROLE_DEFINITIONS, e.g. "Cognitive Services OpenAI User"
    principal_id: pulumi.Input[str]
    principal_type: NotRequired[str]  # "ServicePrincipal" (default), "User" or "Group"
    description: NotRequired[str]
    # Tells apart two assignments of one role on one scope.
    label: NotRequired[str]


def role_assignment_spec(record: RoleAssignment) -> RoleAssignmentSpec:
    return RoleAssignmentSpec(
        record["role"],
        record["principal_id"],
        principal_type=record.get("principal_type", "ServicePrincipal"),
        description=record.get("description", ""),
        label=record.get("label", ""),
    )


def assignment_name(scope: str, principal_id: str, role: str) -> str:
    """Same scope, principal and role give the same GUID, so re-runs never duplicate an assignment."""
    return str(uuid.uuid5(_NAMESPACE, f"{scope.lower()}|{principal_id}|{ROLE_DEFINITIONS[role]}"))


def _assignment_name(scope_and_principal: list[str], role: str) -> str:
    return assignment_name(scope_and_principal[0], scope_and_principal[1], role)


def _role_definition_for_scope(scope_and_subscription: list[str], role: str) -> str:
    scope, deploying_subscription = scope_and_subscription
    parts = scope.split("/")
    in_scope = parts[2] if len(parts) > 2 and parts[1].lower() == "subscriptions" else deploying_subscription
    return role_definition_id(in_scope, role)


def role_definition_id(subscription_id: str, role: str) -> str:
    guid = ROLE_DEFINITIONS[role]
    return f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{guid}"


def assign_roles(
    name: str,
    scope: pulumi.Input[str],
    assignments: Sequence[RoleAssignmentSpec],
    parent: pulumi.Resource,
    depends_on: Sequence[pulumi.Resource] = (),
) -> list[authorization.RoleAssignment]:
    client = authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=parent))
    created = []
    for spec in assignments:
        role_slug = spec.role.lower().replace(" ", "-")
        created.append(
            authorization.RoleAssignment(
                f"{name}-{role_slug}" + (f"-{spec.label}" if spec.label else ""),
                scope=scope,
                principal_id=spec.principal_id,
                principal_type=spec.principal_type,
                role_definition_id=pulumi.Output.all(scope, client.subscription_id).apply(
                    functools.partial(_role_definition_for_scope, role=spec.role)
                ),
                role_assignment_name=pulumi.Output.all(scope, spec.principal_id).apply(
                    functools.partial(_assignment_name, role=spec.role)
                ),
                description=spec.description or None,
                opts=pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on)),
            )
        )
    return created
