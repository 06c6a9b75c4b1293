"""A Cognitive Services account locked down the same way wherever the gateway needs one (OpenAI, Content Safety)."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
from pulumi_azure_native import cognitiveservices

# The tag the guardrails read to state why an account keeps key authentication.
LOCAL_AUTH_EXCEPTION_TAG = "localAuthException"


def locked_down_account(
    name: str,
    *,
    azure_name: pulumi.Input[str],
    kind: str,
    location: pulumi.Input[str],
    resource_group_name: pulumi.Input[str],
    tags: Mapping[str, str],
    parent: pulumi.Resource,
    protect: bool = False,
    key_auth_exception: str | None = None,
) -> cognitiveservices.Account:
    """S0, system identity, private only, ACLs deny, and no keys unless `key_auth_exception` says why."""
    return cognitiveservices.Account(
        name,
        account_name=azure_name,
        resource_group_name=resource_group_name,
        location=location,
        kind=kind,
        sku=cognitiveservices.SkuArgs(name="S0"),
        identity=cognitiveservices.IdentityArgs(type=cognitiveservices.ResourceIdentityType.SYSTEM_ASSIGNED),
        properties=cognitiveservices.AccountPropertiesArgs(
            # Needed for Entra ID auth and private endpoints; globally unique and fixed after creation.
            custom_sub_domain_name=azure_name,
            public_network_access="Disabled",
            disable_local_auth=key_auth_exception is None,
            network_acls=cognitiveservices.NetworkRuleSetArgs(
                default_action="Deny", ip_rules=[], virtual_network_rules=[]
            ),
        ),
        tags={**tags, **({LOCAL_AUTH_EXCEPTION_TAG: key_auth_exception} if key_auth_exception else {})},
        opts=pulumi.ResourceOptions(parent=parent, protect=protect),
    )
