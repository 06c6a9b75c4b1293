"""What GatewayPolicies checks of its inputs before it declares anything.

Another program has no settings validation in front of the component, and the templates insert names and numbers
into policy XML and C# literals unescaped (components/policy_templates.py): every value that reaches a template has
its form checked here, with the same rules the settings apply (components/settings/gateway.py, openai.py), and
each error names the input, the value and what is allowed.
"""

import ipaddress
import re
from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .gateway_inputs import Consumer, GatewayPoliciesArgs

# Shared with the settings (components/settings/gateway.py and openai.py), which check the same names.
ACCOUNT_NAME_PATTERN = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$"
CONSUMER_NAME_PATTERN = r"^[a-z][a-z0-9-]{0,38}[a-z0-9]$"
DEPLOYMENT_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$"
# An alias is written into policy expressions and URL paths: the characters Azure allows in deployment names.
ALIAS_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
GUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
ISO_DURATION_PATTERN = r"^P(?:\d+D)?(?:T(?:\d+H)?(?:\d+M)?(?:\d+S)?)?$"
# An APIM logger id, written as a literal into log-to-eventhub.
LOGGER_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$"
# Azure: a backend pool holds at most 30 backends.
MAX_POOL_MEMBERS = 30
# An Entra ID audience is written into a validate-azure-ad-token attribute: an app ID URI or a client id.
_AUDIENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:/._-]{0,255}$")


class GatewayInputError(ValueError):
    """An input GatewayPolicies cannot render policies from, named by its path in the Args."""

    def __init__(self, key: str, value: object, allowed: str) -> None:
        super().__init__(f"GatewayPolicies: {key} = {value!r}: {allowed}")


def one_of(key: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise GatewayInputError(key, value, f"must be one of {', '.join(allowed)}")
    return value


def _form(key: str, value: str, pattern: str, allowed: str) -> None:
    if not isinstance(value, str) or not re.match(pattern, value):
        raise GatewayInputError(key, value, allowed)


def _unique(key: str, values: Iterable[str], what: str) -> None:
    for value, n in Counter(values).items():
        if n > 1:
            raise GatewayInputError(key, value, f"{what} must be unique")


def _positive(key: str, value: int) -> None:
    if value < 1:
        raise GatewayInputError(key, value, "must be at least 1")


def _deployments(args: "GatewayPoliciesArgs") -> set[str]:
    _unique("pools[].deployment", (p["deployment"] for p in args["pools"]), "pool deployments")
    for i, pool in enumerate(args["pools"]):
        _form(f"pools[{i}].deployment", pool["deployment"], DEPLOYMENT_NAME_PATTERN,
              "2 to 64 letters, digits, hyphens, underscores or periods, starting with a letter or digit")
        members = pool["members"]
        _unique(f"pools[{i}].members[].account", (m["account"] for m in members), "each account at most once;")
        if len(members) > MAX_POOL_MEMBERS:
            raise GatewayInputError(f"pools[{i}].members", len(members), f"a pool holds at most {MAX_POOL_MEMBERS}")
        if members and all(m["weight"] == 0 for m in members):
            raise GatewayInputError(f"pools[{i}].members[].weight", 0, "at least one member needs a positive weight")
    return {p["deployment"] for p in args["pools"]}


def _routing(args: "GatewayPoliciesArgs", deployments: set[str]) -> None:
    routing = args.get("routing", {})
    breaker = routing.get("circuit_breaker")
    if breaker is not None:
        _positive("routing.circuit_breaker.failure_count", breaker["failure_count"])
        for field in ("interval", "trip_duration"):
            _form(f"routing.circuit_breaker.{field}", breaker[field], ISO_DURATION_PATTERN,  # type: ignore[literal-required]
                  "an ISO 8601 duration of days, hours, minutes and seconds, such as 'PT1M'")
        ranges = breaker["status_code_ranges"]
        for i, r in enumerate(ranges):
            if not 200 <= r["min"] <= r["max"] <= 599:
                raise GatewayInputError(f"routing.circuit_breaker.status_code_ranges[{i}]", dict(r),
                                        "min <= max, both HTTP status codes from 200 to 599")
        if not any(r["min"] <= 429 <= r["max"] for r in ranges):
            raise GatewayInputError("routing.circuit_breaker.status_code_ranges", [dict(r) for r in ranges],
                                    "must cover 429, or a throttled backend keeps receiving traffic")
    for alias, target in routing.get("aliases", {}).items():
        _form(f"routing.aliases.{alias}", alias, ALIAS_NAME_PATTERN,
              "an alias is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
        if alias in deployments:
            raise GatewayInputError(f"routing.aliases.{alias}", target, "an alias must not shadow a deployment name")
        if target not in deployments:
            raise GatewayInputError(f"routing.aliases.{alias}", target,
                                    f"must be a deployment with a pool: {', '.join(sorted(deployments))}")


def _consumer(i: int, c: "Consumer", entra: bool) -> None:
    _form(f"consumers[{i}].name", c["name"], CONSUMER_NAME_PATTERN,
          "2-40 lower-case letters, digits and dashes, starting with a letter")
    if not c["deployments"]:
        raise GatewayInputError(f"consumers[{i}].deployments", [], "at least one deployment the consumer may call")
    _positive(f"consumers[{i}].tokens_per_minute", c["tokens_per_minute"])
    quota = c.get("quota")
    if quota is not None:
        if "tokens" in quota:
            _positive(f"consumers[{i}].quota.tokens", quota["tokens"])
        elif "from_budget" in quota:
            raise GatewayInputError(f"consumers[{i}].quota", dict(quota),
                                    "from_budget is reported with the quota it became: give tokens and period")
    app_ids = c.get("entra_client_app_ids", [])
    for j, app_id in enumerate(app_ids):
        _form(f"consumers[{i}].entra_client_app_ids[{j}]", app_id, GUID_PATTERN,
              "an application (client) id: a GUID such as '00000000-0000-0000-0000-000000000000'")
    if app_ids and not entra:
        raise GatewayInputError(f"consumers[{i}].entra_client_app_ids", app_ids,
                                "needs entra_id (the tenant and audiences its tokens are checked against)")


def _entra(args: "GatewayPoliciesArgs") -> None:
    entra = args.get("entra_id")
    if entra is None:
        return
    _form("entra_id.tenant_id", entra["tenant_id"], GUID_PATTERN,
          "a GUID such as '00000000-0000-0000-0000-000000000000'")
    if not entra["audiences"]:
        raise GatewayInputError("entra_id.audiences", [], "at least one audience (the gateway app's ID URI or id)")
    for j, audience in enumerate(entra["audiences"]):
        _form(f"entra_id.audiences[{j}]", audience, _AUDIENCE.pattern,
              "an app ID URI (api://...) or a client id, letters, digits and ':/._-'")
    if not any(c.get("entra_client_app_ids") for c in args["consumers"]):
        raise GatewayInputError("entra_id", dict(entra),
                                "no consumer lists entra_client_app_ids; omit it or map callers")


def check_gateway_args(args: "GatewayPoliciesArgs") -> None:
    """Raises GatewayInputError for the first input the policies cannot be rendered from."""
    _unique("accounts[].key", (a["key"] for a in args["accounts"]), "account keys")
    _unique("consumers[].name", (c["name"] for c in args["consumers"]), "consumer names")
    deployments = _deployments(args)
    _routing(args, deployments)
    for i, consumer in enumerate(args["consumers"]):
        _consumer(i, consumer, "entra_id" in args)
    _entra(args)
    if "usage_logger_name" in args:
        _form("usage_logger_name", args["usage_logger_name"], LOGGER_NAME_PATTERN,
              "an APIM logger id: letters, digits, '_' and '-' (a literal of log-to-eventhub, never an Output)")
    limits = args["token_limits"]
    _positive("token_limits.global_tokens_per_minute", limits["global_tokens_per_minute"])
    for tier in ("high", "low"):
        allowance = limits[tier]  # type: ignore[literal-required]
        _positive(f"token_limits.{tier}.base_tokens_per_minute", allowance["base_tokens_per_minute"])
        if not 0 <= allowance["share_of_unused"] <= 1:
            raise GatewayInputError(f"token_limits.{tier}.share_of_unused", allowance["share_of_unused"], "from 0 to 1")
    subnet = args.get("app_gateway_subnet")
    if subnet is not None:
        try:
            ipaddress.IPv4Network(subnet)
        except ValueError as error:
            raise GatewayInputError("app_gateway_subnet", subnet, "an IPv4 CIDR such as '10.0.2.0/24'") from error
