"""What the emulator runs, read from the offline plan (`build/plan/<stack>.json`) and nothing else.

The plan holds the inputs `pulumi up` would send to Azure: the API (path, subscription key names, whether a key
is required, the OpenAPI document it imports), its policy, products with their policies and API links,
subscriptions, policy fragments, backends (circuit breakers, pools), named values, loggers, and the Cognitive
Services accounts with their deployments. Values the plan masks (`[secret]`) or only knows after deployment
(`[computed]`) get stand-ins the emulator generates itself. The model's types: tools/emulator/gateway_model.py.

The plan may declare the API Management service (the project's stacks) or none: a program composing the
gateway's policies on an existing service (examples/existing-apim) declares only the service's children, each
naming the service by `serviceName`. Then the service's name is the one they all name (children naming two
services are refused), and its region, which Azure knows but the plan does not, is REGION_NOT_IN_PLAN: what
the expressions read as `context.Deployment.Region` (the usage record's `gatewayRegion`), the token metrics'
`Location` dimension and the LLM log's `Region`. The emulator never guesses it from other resources' locations:
an existing service may well run in another region than the accounts the program adds. The existing service's
user-assigned identity is the one whose client id the program hands its policies in a named value naming a
client id (`...client-id`, tools/emulator/gateway.py), as a stack's plan does with its own identity's.
"""

from __future__ import annotations

import json
import re
import secrets
import uuid
from pathlib import Path
from typing import Any

from .gateway_model import (
    Account,
    Api,
    Backend,
    BreakerRule,
    Deployment,
    GatewayModel,
    Logger,
    PoolMember,
    Product,
    StatusRange,
    Subscription,
)

# The model's types live in gateway_model.py; they are named here too, where callers have always found them.
__all__ = [
    "MASKED",
    "Account",
    "Api",
    "Backend",
    "BreakerRule",
    "Deployment",
    "GatewayModel",
    "Logger",
    "PlanError",
    "PoolMember",
    "Product",
    "StatusRange",
    "Subscription",
    "iso_seconds",
    "load_plan",
    "read_model",
]

PROJECT_DIR = Path(__file__).resolve().parents[2]
MASKED = ("[secret]", "[computed]")
# The gateway's region when the plan does not declare the service (see the module's docstring): not a region
# name, so that no record made by the emulator passes for one that names where the service runs.
REGION_NOT_IN_PLAN = "[not in the plan: existing service]"
APIM = "azure-native:apimanagement:"


class PlanError(Exception):
    """The plan lacks something the emulator needs, or holds something it cannot run."""


def iso_seconds(value: str) -> float:
    """An ISO-8601 duration such as PT1M or PT30S, in seconds."""
    match = re.fullmatch(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?", value)
    if not match or value in ("P", "PT"):
        raise PlanError(f"not an ISO-8601 duration: {value!r}")
    days, hours, minutes, seconds = match.groups()
    return int(days or 0) * 86400 + int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds or 0)


def _last_segment(resource_id: str, kind: str) -> str:
    match = re.search(rf"/{kind}/([^/]+)$", resource_id or "")
    if not match:
        raise PlanError(f"expected an id ending in /{kind}/<name>, got {resource_id!r}")
    return match.group(1)


def _breaker(inputs: dict[str, Any]) -> BreakerRule | None:
    rules = (inputs.get("circuitBreaker") or {}).get("rules") or []
    if not rules:
        return None
    if len(rules) > 1:
        raise PlanError(
            f"backend {inputs.get('backendId')}: Azure supports one circuit-breaker rule, the plan has {len(rules)}"
        )
    rule = rules[0]
    condition = rule["failureCondition"]
    if "count" not in condition:
        raise PlanError(f"backend {inputs.get('backendId')}: only count-based breaker rules are emulated")
    return BreakerRule(
        name=rule.get("name", "rule"),
        count=int(condition["count"]),
        interval_seconds=iso_seconds(condition["interval"]),
        status_ranges=tuple(StatusRange(int(r["min"]), int(r["max"])) for r in condition.get("statusCodeRanges", [])),
        trip_seconds=iso_seconds(rule["tripDuration"]),
        accept_retry_after=bool(rule.get("acceptRetryAfter", False)),
    )


def _stand_in(name: str, raw: Any) -> str:
    """A value for a named value the plan masks: a GUID for ids, random text for secrets."""
    if isinstance(raw, str) and raw not in MASKED:
        return raw
    if "client-id" in name or name.endswith("-id"):
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"genai-gateway-emulator:{name}"))
    return secrets.token_urlsafe(32)


_ARM_PARAMETER = re.compile(r"^\[parameters\('([^']+)'\)\]$")
_ARM_NAME = re.compile(r"^\[format\('\{0\}/([^']+)',")


def _resolve(value: Any, parameters: dict[str, Any]) -> Any:
    if isinstance(value, str) and (match := _ARM_PARAMETER.match(value)):
        return parameters.get(match.group(1))
    if isinstance(value, dict):
        return {k: _resolve(v, parameters) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, parameters) for v in value]
    return value


def _arm_backends(deployments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Backends declared in ARM template deployments (for properties the typed SDK cannot send), as inputs of
    an apimanagement:Backend: `[parameters('x')]` values resolved from the deployment's parameters."""
    found = []
    for deployment in deployments:
        properties = deployment.get("properties") or {}
        parameters = {k: (v or {}).get("value") for k, v in (properties.get("parameters") or {}).items()}

        for resource in (properties.get("template") or {}).get("resources", []):
            if resource.get("type") != "Microsoft.ApiManagement/service/backends":
                continue
            name = str(resource.get("name", ""))
            match = _ARM_NAME.match(name)
            backend_id = match.group(1) if match else name.rsplit("/", 1)[-1]
            found.append({"backendId": backend_id, **_resolve(resource.get("properties") or {}, parameters)})
    return found


def _arm_llm_logging(deployments: list[dict[str, Any]]) -> frozenset[str]:
    """The API ids whose API diagnostic (declared in an ARM deployment: the property needs 2025-09-01-preview)
    sets `largeLanguageModel.logs` to "enabled", which fills ApiManagementGatewayLlmLog
    (learn.microsoft.com/azure/templates/microsoft.apimanagement/2025-09-01-preview/service/apis/diagnostics;
    learn.microsoft.com/azure/api-management/api-management-howto-llm-logs)."""
    found = set()
    for deployment in deployments:
        for resource in ((deployment.get("properties") or {}).get("template") or {}).get("resources", []):
            if resource.get("type") != "Microsoft.ApiManagement/service/apis/diagnostics":
                continue
            llm = (resource.get("properties") or {}).get("largeLanguageModel") or {}
            if str(llm.get("logs", "")).lower() != "enabled":
                continue
            match = _ARM_NAME.match(str(resource.get("name", "")))
            path = match.group(1) if match else str(resource.get("name", ""))
            parts = path.split("/")
            if len(parts) >= 2:
                found.add(parts[-2])
    return frozenset(found)


def _app_gateway_subnet(by_type: dict[str, list[dict[str, Any]]]) -> str | None:
    """The address prefix of the subnet the plan's Application Gateway sits in (None without one)."""
    for gateway in by_type.get("azure-native:network:ApplicationGateway", []):
        for configuration in gateway.get("gatewayIPConfigurations") or []:
            subnet_id = str(((configuration or {}).get("subnet") or {}).get("id", ""))
            name = subnet_id.rsplit("/", 1)[-1]
            for subnet in by_type.get("azure-native:network:Subnet", []):
                if subnet.get("subnetName") == name and subnet.get("addressPrefix"):
                    return str(subnet["addressPrefix"])
    return None


def load_plan(stack: str, *, plan_file: Path | None = None) -> dict[str, Any]:
    """The plan document of the stack, planned now from its stack file and the program (in process, under the
    mock engine, as `python -m tools.plan` does), or read from `plan_file` when one is given.

    Never a build/plan/<stack>.json an earlier run left behind: it may predate the stack file or the program
    (a stale plan once named a model no longer deployed, and the spill-over scenarios skipped unnoticed).
    """
    if plan_file is not None:
        try:
            document: dict[str, Any] = json.loads(plan_file.read_text())
        except (OSError, ValueError) as error:
            raise PlanError(f"cannot read the plan {plan_file}: {error}") from error
        return document
    from components.settings import SettingsError
    from tools.harness import run_stack
    from tools.plan import plan_document
    from tools.stack_config import StackFileError

    try:
        recording = run_stack(stack)
    except (FileNotFoundError, StackFileError, SettingsError) as error:
        raise PlanError(f"stack {stack}: {error}") from error
    return plan_document(recording, [])


def _existing_service(plan: dict[str, Any]) -> str:
    """The name of the existing service a plan without one composes on: the `serviceName` every API Management
    resource of the plan names."""
    names = {
        str(r["inputs"]["serviceName"])
        for r in plan["resources"]
        if r["type"].startswith(APIM) and isinstance(r.get("inputs"), dict) and r["inputs"].get("serviceName")
    }
    if len(names) != 1:
        raise PlanError(
            "the plan must declare one API Management service, it declares 0"
            + (f", and its API Management resources name {len(names)} services: {sorted(names)}" if names else "")
        )
    return names.pop()


def read_model(plan: dict[str, Any]) -> GatewayModel:
    """The gateway the plan would deploy: its APIs, products, subscriptions and backends."""
    by_type: dict[str, list[dict[str, Any]]] = {}
    for resource in plan["resources"]:
        by_type.setdefault(resource["type"], []).append(resource["inputs"])

    def of(kind: str) -> list[dict[str, Any]]:
        return by_type.get(APIM + kind, [])

    services = of("ApiManagementService")
    if len(services) > 1:
        raise PlanError(f"the plan must declare one API Management service, it declares {len(services)}")
    if services:
        service_name, region = str(services[0].get("serviceName", "apim")), str(services[0].get("location", ""))
    else:
        service_name, region = _existing_service(plan), REGION_NOT_IN_PLAN
    apis_declared = of("Api")
    if not apis_declared:
        raise PlanError("the plan declares no API")
    policies = {p["apiId"]: p["value"] for p in of("ApiPolicy")}
    declared: dict[str, list[dict[str, str]]] = {}
    for op in of("ApiOperation"):
        declared.setdefault(str(op["apiId"]).rsplit("/", 1)[-1], []).append(
            {"operationId": op["operationId"], "method": op["method"], "urlTemplate": op["urlTemplate"]}
        )
    apis: dict[str, Api] = {}
    for a in apis_declared:
        keys = a.get("subscriptionKeyParameterNames") or {}
        apis[a["apiId"]] = Api(
            api_id=a["apiId"],
            name=a.get("displayName", a["apiId"]),
            path=a["path"].strip("/"),
            protocols=tuple(a.get("protocols", ["https"])),
            subscription_required=bool(a.get("subscriptionRequired", True)),
            # APIM's defaults when the API names none.
            key_header=keys.get("header", "Ocp-Apim-Subscription-Key"),
            key_query=keys.get("query", "subscription-key"),
            spec_url=a.get("value", ""),
            policy=policies.get(a["apiId"]),
            operations=tuple(declared.get(a["apiId"], [])),
        )
    paths = [api.path for api in apis.values()]
    if len(set(paths)) != len(paths):
        raise PlanError(f"two APIs share a path: {sorted(paths)}")

    links: dict[str, list[str]] = {}
    for link in of("ProductApiLink"):
        links.setdefault(link["productId"], []).append(_last_segment(link["apiId"], "apis"))
    product_policies = {p["productId"]: p["value"] for p in of("ProductPolicy")}
    products = {
        p["productId"]: Product(
            product_id=p["productId"],
            name=p.get("displayName", p["productId"]),
            subscription_required=bool(p.get("subscriptionRequired", True)),
            approval_required=bool(p.get("approvalRequired", False)),
            subscriptions_limit=p.get("subscriptionsLimit"),
            api_ids=tuple(links.get(p["productId"], [])),
            policy=product_policies.get(p["productId"]),
        )
        for p in of("Product")
    }

    subscriptions: dict[str, Subscription] = {}
    for s in of("Subscription"):
        scope = s["scope"]
        if "/products/" in scope:
            kind, scope_id = "product", _last_segment(scope, "products")
        elif "/apis/" in scope:
            kind, scope_id = "api", _last_segment(scope, "apis")
        else:
            kind, scope_id = "all", ""
        # Keys are [secret] in the plan: the emulator makes its own, fresh per start.
        subscriptions[s["sid"]] = Subscription(
            sid=s["sid"],
            display_name=s.get("displayName", s["sid"]),
            scope_kind=kind,
            scope_id=scope_id,
            active=s.get("state", "submitted") == "active",
            primary_key=secrets.token_hex(16),
            secondary_key=secrets.token_hex(16),
        )

    backends: dict[str, Backend] = {}
    for b in [*of("Backend"), *_arm_backends(by_type.get("azure-native:resources:Deployment", []))]:
        members = tuple(
            PoolMember(_last_segment(m["id"], "backends"), int(m.get("priority", 0)), int(m.get("weight", 1)))
            for m in (b.get("pool") or {}).get("services", [])
        )
        credentials = (b.get("credentials") or {}).get("header") or {}
        identity = (b.get("credentials") or {}).get("managedIdentity")
        backends[b["backendId"]] = Backend(
            backend_id=b["backendId"],
            type=b.get("type", "Single"),
            url=b.get("url"),
            rule=_breaker(b),
            members=members,
            credential_headers={k: list(v) for k, v in credentials.items()},
            managed_identity=None
            if not identity
            else (str(identity.get("resource", "")), identity.get("clientId") or None),
        )
    for backend in backends.values():
        for member in backend.members:
            if member.backend_id not in backends:
                raise PlanError(f"pool {backend.backend_id} names backend {member.backend_id}, which the plan lacks")

    named_values = {n["namedValueId"]: _stand_in(n["namedValueId"], n.get("value")) for n in of("NamedValue")}
    loggers = {
        lg["loggerId"]: Logger(
            lg["loggerId"],
            lg.get("loggerType", ""),
            lg["credentials"].get("name") if isinstance(lg.get("credentials"), dict) else None,
        )
        for lg in of("Logger")
    }

    deployments: dict[str, list[Deployment]] = {}
    for d in by_type.get("azure-native:cognitiveservices:Deployment", []):
        model = d["properties"]["model"]
        deployments.setdefault(d["accountName"], []).append(
            Deployment(
                d["deploymentName"],
                model["name"],
                str(model.get("version", "")),
                d["sku"]["name"],
                int(d["sku"]["capacity"]),
            )
        )
    accounts: dict[str, Account] = {}
    for acc in by_type.get("azure-native:cognitiveservices:Account", []):
        sub = (acc.get("properties") or {}).get("customSubDomainName") or acc["accountName"]
        kind = acc.get("kind", "")
        domain = "openai.azure.com" if kind == "OpenAI" else "cognitiveservices.azure.com"
        tags = acc.get("tags") or {}
        name = tags.get("openaiAccount", acc["accountName"])
        tier = tags.get("capacityTier")
        accounts[name] = Account(
            name=name,
            azure_name=acc["accountName"],
            kind=kind,
            host=f"{sub}.{domain}",
            region=acc.get("location", ""),
            tier=None if tier is None else ("ptu" if tier.startswith("ptu") else tier),
            deployments=tuple(deployments.get(acc["accountName"], [])),
        )

    return GatewayModel(
        stack=plan.get("stack", ""),
        service_name=service_name,
        region=region,
        apis=apis,
        products=products,
        subscriptions=subscriptions,
        fragments={f["id"]: f["value"] for f in of("PolicyFragment")},
        backends=backends,
        named_values=named_values,
        loggers=loggers,
        accounts=accounts,
        service_policy=next((p["value"] for p in of("Policy")), None),
        llm_logging=_arm_llm_logging(by_type.get("azure-native:resources:Deployment", [])),
        app_gateway_subnet=_app_gateway_subnet(by_type),
        existing_service=not services,
    )
