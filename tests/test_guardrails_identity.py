"""Guardrails, identity (policies/rules/identity.py): no key authentication but the stated exceptions, which every
plan reports, and role assignments limited to the data-plane roles the gateway needs.
"""

from __future__ import annotations

from components.access import ROLE_DEFINITIONS
from policies import rules
from tests.guardrail_support import DELETE, assert_fails, changed, check, find, with_key_vault
from tools.harness import RecordedResource, Recording

OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"


def test_no_local_auth(dev: Recording, prod: Recording) -> None:
    rule = "no-local-auth"
    broken = changed(dev, rules.COGNITIVE_ACCOUNT, "openai-paygo-2", properties__disableLocalAuth=False)
    assert_fails(check(broken, rule), rule, "mandatory", "accepts API keys", "openai-paygo-2")
    broken = changed(dev, rules.EVENTHUB_NAMESPACE, disableLocalAuth=DELETE)
    assert_fails(check(broken, rule), rule, "mandatory", "set disableLocalAuth to true", "telemetry-namespace")
    broken = changed(prod, rules.STORAGE_ACCOUNT, allowSharedKeyAccess=True)
    assert_fails(check(broken, rule), rule, "mandatory", "allowSharedKeyAccess to false", "telemetry-capture")
    broken = with_key_vault(prod, enableRbacAuthorization=False)
    assert_fails(check(broken, rule), rule, "mandatory", "enableRbacAuthorization")


def test_no_local_auth_allows_only_stated_exceptions(prod: Recording) -> None:
    rule = "no-local-auth"
    # No Cognitive Services account keeps keys any more: Content Safety authenticates its backend keylessly.
    assert not [a for a in prod.of_type(rules.COGNITIVE_ACCOUNT) if a.get("tags.localAuthException")]
    assert all(a.get("properties.disableLocalAuth") is True for a in prod.of_type(rules.COGNITIVE_ACCOUNT))
    cluster = "cache-redis"
    redis = "azure-native:redisenterprise:RedisEnterprise"
    broken = changed(prod, redis, cluster, tags__localAuthException="convenience")
    assert_fails(check(broken, rule), rule, "mandatory", "'convenience' is not a stated exception")
    untagged = changed(prod, redis, cluster, tags__localAuthException=DELETE)
    assert_fails(check(untagged, rule), rule, "mandatory", "cache-redis-db")


def test_the_content_safety_exception_is_retired(prod: Recording) -> None:
    assert "llm-content-safety-backend-credentials" not in rules.STATED_LOCAL_AUTH_EXCEPTIONS
    [account] = [a for a in prod.of_type(rules.COGNITIVE_ACCOUNT) if a.get("kind") == "ContentSafety"]
    broken = changed(prod, rules.COGNITIVE_ACCOUNT, account.name, properties__disableLocalAuth=False,
                     tags__localAuthException="llm-content-safety-backend-credentials")  # fmt: skip
    rule = "no-local-auth"
    assert_fails(check(broken, rule), rule, "mandatory", "is not a stated exception", account.name)


def test_local_auth_exceptions_are_reported_on_every_plan(prod: Recording) -> None:
    rule = "local-auth-exceptions"
    reported = check(prod, rule)
    assert {v.level for v in reported} == {"advisory"}
    assert all("keeps key authentication under the stated exception" in v.message for v in reported)

    # The tagged resources that keep keys: the Redis database of the tagged cluster (Content Safety is keyless).
    def keeps_keys_under_a_tag(r: RecordedResource) -> bool:
        holders = [r, prod.by_urn(r.parent)] if r.parent else [r]
        tagged = any(h.get("tags.localAuthException") for h in holders)
        keys_on = r.get("properties.disableLocalAuth") is False or r.get("accessKeysAuthentication") == "Enabled"
        return tagged and keys_on

    expected = {r.name for r in prod.resources if keeps_keys_under_a_tag(r)}
    assert expected == {"cache-redis-db"}
    assert {v.urn.rsplit("::", 1)[-1] for v in reported if v.urn} == expected


def test_role_assignment_least_privilege(prod: Recording) -> None:
    rule, name = "role-assignment-least-privilege", "openai-ptu-1-role-cognitive-services-openai-user"
    role_id = find(prod, rules.ROLE_ASSIGNMENT, name).get("roleDefinitionId")
    prefix = role_id.rsplit("/", 1)[0]
    for guid, phrase in ((OWNER, "grants Owner"), (CONTRIBUTOR, "grants Contributor")):
        broken = changed(prod, rules.ROLE_ASSIGNMENT, name, roleDefinitionId=f"{prefix}/{guid}")
        assert_fails(check(broken, rule), rule, "mandatory", phrase, name)
    reader = f"{prefix}/acdd72a7-3385-48ef-bd42-f606fba81ae7"
    broken = changed(prod, rules.ROLE_ASSIGNMENT, name, roleDefinitionId=reader)
    assert_fails(check(broken, rule), rule, "mandatory", "not on the data-plane allow-list", name)
    allowed = {rule: {"allowedRoleDefinitionIds": [*ROLE_DEFINITIONS.values(), "acdd72a7-3385-48ef-bd42-f606fba81ae7"]}}
    assert check(broken, rule, allowed) == []
    broken = changed(prod, rules.ROLE_ASSIGNMENT, name, scope="/subscriptions/00000000-0000-4000-8000-000000000001")
    assert_fails(check(broken, rule), rule, "mandatory", "not a subscription or resource group", name)
