"""A wait after role assignments, for what Azure checks against them at creation time.

Azure RBAC is eventually consistent: a role assignment can take minutes before a data-plane or linked-access
check sees it (https://learn.microsoft.com/azure/role-based-access-control/troubleshooting#symptom---role-
assignment-changes-are-not-being-detected; mspnp/aks-baseline#242 for a Key Vault read failing right after its
assignment). A `time.Sleep` (pulumiverse-time) is a real resource: `pulumi up` waits for it like for any other,
only when it is created or replaced (a new assignment id replaces it), never on later updates. What depends
on it is therefore created that long after the last assignment exists.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumiverse_time as time
from pulumi_azure_native import authorization

# Default wait; RBAC changes usually apply within a few minutes. Settings can raise it or set 0 (no wait).
DEFAULT_PROPAGATION_SECONDS = 180


def after_propagation(
    name: str,
    assignments: Sequence[authorization.RoleAssignment],
    seconds: int,
    parent: pulumi.Resource,
) -> list[pulumi.Resource]:
    """What a resource that needs `assignments` in effect should depend on: a wait after them (or them alone)."""
    if not assignments or seconds <= 0:
        return list(assignments)
    sleep = time.Sleep(
        name,
        create_duration=f"{seconds}s",
        # A replaced assignment replaces the wait, so the dependants wait again.
        triggers={f"assignment-{i}": a.id for i, a in enumerate(assignments)},
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(assignments)),
    )
    return [sleep]
