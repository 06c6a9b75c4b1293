"""Role assignments: least-privilege roles, one assignment per scope, principal and role, stable names."""

from __future__ import annotations

from collections import Counter

from components.access import ROLE_DEFINITIONS, assignment_name
from tools.harness import Recording

ROLE = "azure-native:authorization:RoleAssignment"


def test_assignment_names_are_unique_per_scope(stack: Recording) -> None:
    names = Counter((r.get("scope").lower(), r.get("roleAssignmentName")) for r in stack.of_type(ROLE))
    assert [k for k, n in names.items() if n > 1] == []
    pairs = Counter(
        (r.get("scope").lower(), r.get("principalId"), r.get("roleDefinitionId")) for r in stack.of_type(ROLE)
    )
    assert [k for k, n in pairs.items() if n > 1] == []


def test_assignment_names_are_stable_across_releases() -> None:
    # A changed derivation would re-create every role assignment of every deployed stack.
    name = assignment_name("/subscriptions/s/resourceGroups/rg", "principal", "Monitoring Metrics Publisher")
    assert name == "d0e508be-fbd3-5875-812f-7338e76d524c"


def test_every_assignment_uses_a_known_least_privilege_role(stack: Recording) -> None:
    guids = set(ROLE_DEFINITIONS.values())
    for role in stack.of_type(ROLE):
        assert role.get("roleDefinitionId").rsplit("/", 1)[1] in guids
        # Managed identities are service principals; only a team's own key reader may be a group or user.
        team_reader = role.parent is not None and "keyvault:Secret" in role.parent
        assert role.get("principalType") == "ServicePrincipal" or team_reader
