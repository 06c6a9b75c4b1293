"""README truths a test can hold: the deploying identity's role permissions, the repository layout."""

from __future__ import annotations

from components.access import ROLE_DEFINITIONS
from tools.harness import Recording
from tools.stack_config import PROJECT_DIR

ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"


def _resource_group_row() -> str:
    text = (PROJECT_DIR / "README.md").read_text()
    section = text.split("## Prerequisites", 1)[1].split("\n## ", 1)[0]
    start = "| `Microsoft.Authorization/roleAssignments/write`"
    [row] = [line for line in section.splitlines() if line.startswith(start)]
    return row


def test_the_role_assignment_permission_names_every_role_assigned_in_the_stacks_resource_group(
    dev: Recording, prod: Recording
) -> None:
    # A Role Based Access Control Administrator constrained to the listed roles must be able to create them all.
    names = {guid: name for name, guid in ROLE_DEFINITIONS.items()}
    row = _resource_group_row()
    for stack in (dev, prod):
        for assignment in stack.of_type(ROLE_ASSIGNMENT):
            scope = str(assignment.get("scope"))
            if f"/resourceGroups/{stack.outputs['resourceGroupName']}/" not in scope:
                continue  # the platform vault's grant has a row of its own
            role = names[str(assignment.get("roleDefinitionId")).rsplit("/", 1)[-1]]
            assert f"*{role}*" in row, (stack.stack, assignment.name, role)


def test_the_repository_layout_names_every_package_under_tools() -> None:
    text = (PROJECT_DIR / "README.md").read_text()
    layout = text.split("## Repository layout", 1)[1].split("```", 2)[1]
    packages = sorted(p.parent.name for p in (PROJECT_DIR / "tools").glob("*/__init__.py"))
    assert packages
    assert [p for p in packages if f"tools/{p}/" not in layout] == []
