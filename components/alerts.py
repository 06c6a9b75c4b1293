"""GatewayAlerts: Azure Monitor alert rules and an action group for budget burn, throttling, PTU and breakers.

Each rule reads data the stack produces:
- **Quota burn** (per consumer, at `quotaWarningPercent` and 100%): the remaining quota `azure-openai-token-limit`
  returns in `x-gateway-remaining-quota-tokens` (the product policy), logged into
  `ApiManagementGatewayLogs.ResponseHeaders` by the `azuremonitor` diagnostics: the service's, which this
  component configures, and each OpenAI API's (LLM logging, components/openai_api.py), which replaces the
  service's for that API (that header only; no body). A log alert sees at
  most two days of data (learn.microsoft.com/azure/azure-monitor/alerts/alerts-create-log-alert-rule, "Override
  query time range"), so a monthly quota cannot be summed from per-request tokens; the gateway's own counter is
  what knows month-to-date use. A budgeted consumer's quota is its budget's token quota (README, "Currency
  budgets"), so the same rule is its budget burn.
- **429 rate to callers**: `ApiManagementGatewayLogs.ResponseCode` of every API of the gateway.
- **PTU utilisation**: the Azure OpenAI platform metric `AzureOpenAIProvisionedManagedUtilizationV2` (percent of a
  provisioned deployment's capacity, dimension `ModelDeploymentName`) on each real PTU account (a metric alert).
- **Breaker trips**: a backend trips after `failureCount` responses in its status ranges within `interval`
  (GatewayPolicies); the rule counts exactly that per backend host in `ApiManagementGatewayLogs.BackendUrl` and
  `BackendResponseCode`, plus 503s the gateway answered without calling any backend (a pool whose members all
  tripped). It infers trips from the same counts the breaker uses; APIM logs no trip event.
Queries are rendered from validated values only (consumer names match a strict pattern, numbers are numbers). They read
every API of the gateway: the workspace is the stack's own, and every API the gateway serves is an OpenAI API.
"""

import re
from collections.abc import Sequence
from string import Template
from typing import NotRequired, TypedDict

import pulumi
from pulumi_azure_native import apimanagement, monitor

from .circuit_breaker import DEFAULT_BREAKER, CircuitBreaker
from .diagnostics import no_payload_logging
from .gateway_fragments import HEADERS

# The remaining quota the product policy returns (gateway_fragments.GatewayHeaders).
QUOTA_HEADER = HEADERS.remaining_quota_tokens
PTU_METRIC = "AzureOpenAIProvisionedManagedUtilizationV2"
PTU_METRIC_NAMESPACE = "Microsoft.CognitiveServices/accounts"
_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

QUOTA_QUERY = Template("""let quotas = datatable(ProductId: string, Quota: long) [$quotas];
ApiManagementGatewayLogs
| extend Remaining = tolong(parse_json(tostring(ResponseHeaders))["$header"])
| where isnotnull(Remaining)
| summarize arg_max(TimeGenerated, Remaining) by ProductId
| join kind=inner quotas on ProductId
| extend UsedPercent = round(100.0 * (Quota - Remaining) / Quota, 1)
| where UsedPercent >= $percent
| project ProductId, UsedPercent, Remaining, Quota""")

THROTTLING_QUERY = Template("""ApiManagementGatewayLogs
| summarize Requests = count(), Throttled = countif(ResponseCode == 429)
| where Requests >= $min_requests
| extend ThrottledPercent = round(100.0 * Throttled / Requests, 2)
| where ThrottledPercent > $percent""")

BREAKER_QUERY = Template("""ApiManagementGatewayLogs
| extend Backend = tostring(parse_url(BackendUrl).Host)
| summarize
    Failures = countif(isnotempty(Backend) and ($ranges)),
    PoolExhausted = countif(ResponseCode == 503 and isempty(Backend))
    by Backend, bin(TimeGenerated, $interval)
| where Failures >= $failure_count or PoolExhausted > 0
| extend Backend = iff(isempty(Backend), "(no backend: pool exhausted)", Backend)
| summarize Trips = countif(Failures >= $failure_count), PoolExhausted = sum(PoolExhausted) by Backend""")


class EmailReceiver(TypedDict):
    name: str
    email: str


class QuotaAlert(TypedDict):
    """A consumer's token quota as its product policy enforces it (a budget's token quota included)."""

    product_id: str
    tokens: int


class PtuDeployment(TypedDict):
    """A provisioned deployment on a real PTU account, whose utilisation metric is watched."""

    account: str
    account_id: pulumi.Input[str]
    deployment: str


class Throttling(TypedDict, total=False):
    percent: float  # of the gateway's answers that are 429 (default 5)
    min_requests: int  # in the window, before the rate means anything (default 20)
    window_minutes: int  # default 15


class GatewayAlertsArgs(TypedDict):
    """Inputs of GatewayAlerts: plain values, no stack settings."""

    resource_group_name: pulumi.Input[str]
    location: str
    name_prefix: str  # short, for the action group's short name
    workspace_id: pulumi.Input[str]
    apim_name: pulumi.Input[str]
    apim_id: pulumi.Input[str]
    email_receivers: list[EmailReceiver]
    quotas: NotRequired[list[QuotaAlert]]
    quota_warning_percent: NotRequired[int]  # default 80
    throttling: NotRequired[Throttling]
    ptu_deployments: NotRequired[list[PtuDeployment]]
    ptu_utilization_percent: NotRequired[int]  # default 90
    # The backends' breaker rule, whose trips the breaker rule infers (default: 3 in PT1M on 429 and 5xx).
    circuit_breaker: NotRequired[CircuitBreaker]
    tags: NotRequired[dict[str, str]]
    # The service's azuremonitor logger (GatewayPolicies' azureMonitorLoggerId); absent: the built-in one.
    azure_monitor_logger_id: NotRequired[pulumi.Input[str]]


# Window sizes a log search alert accepts (minutes), the portal's "aggregation granularity" choices.
LOG_ALERT_WINDOWS = (5, 10, 15, 30, 45, 60, 120, 180, 240, 300, 360, 1440)


def iso_duration(minutes: int) -> str:
    if minutes % 1440 == 0:
        return f"P{minutes // 1440}D"
    return f"PT{minutes // 60}H" if minutes % 60 == 0 else f"PT{minutes}M"


def log_window(minutes: int) -> int:
    """The smallest window a log alert accepts that covers `minutes`."""
    return next((w for w in LOG_ALERT_WINDOWS if w >= minutes), LOG_ALERT_WINDOWS[-1])


def iso_minutes(duration: str) -> int:
    """Whole minutes of an ISO-8601 duration such as PT1M, PT90S or P1D (at least 1)."""
    match = re.fullmatch(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?", duration)
    if not match:
        raise ValueError(f"{duration!r} is not an ISO-8601 duration")
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return max(1, days * 1440 + hours * 60 + minutes + seconds // 60)


def quota_query(quotas: Sequence[QuotaAlert], percent: int) -> str:
    for q in quotas:
        if not _SAFE.match(q["product_id"]):
            raise ValueError(f"GatewayAlerts: quotas product_id {q['product_id']!r} cannot be quoted in KQL: "
                             "letters, digits, dots, dashes and underscores, starting with a letter or digit")
    rows = ", ".join(f'"{q["product_id"]}", {int(q["tokens"])}' for q in quotas)
    return QUOTA_QUERY.substitute(quotas=rows, header=QUOTA_HEADER, percent=int(percent))


def throttling_query(percent: float, min_requests: int) -> str:
    return THROTTLING_QUERY.substitute(percent=float(percent), min_requests=int(min_requests))


def breaker_query(ranges: Sequence[tuple[int, int]], failure_count: int, interval_minutes: int) -> str:
    condition = " or ".join(f"BackendResponseCode between ({int(lo)} .. {int(hi)})" for lo, hi in ranges)
    return BREAKER_QUERY.substitute(ranges=condition, failure_count=int(failure_count),
                                    interval=f"{int(interval_minutes)}m")


class GatewayAlerts(pulumi.ComponentResource):
    """Azure Monitor alerts on quota burn, the gateway's 429 rate, breaker trips and PTU utilisation."""

    action_group_id: pulumi.Output[str]

    def __init__(self, name: str, args: GatewayAlertsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("genai-gateway:monitoring:GatewayAlerts", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.get("tags", {}))
        self._tags, self._name_prefix = tags, args["name_prefix"]
        self._resource_group_name, self._location = args["resource_group_name"], args["location"]
        self._workspace_id = args["workspace_id"]
        throttling: Throttling = {"percent": 5.0, "min_requests": 20, "window_minutes": 15,
                                  **args.get("throttling", {})}
        breaker = args.get("circuit_breaker", DEFAULT_BREAKER)
        failure_count, interval = breaker["failure_count"], iso_minutes(breaker["interval"])
        ranges = [(r["min"], r["max"]) for r in breaker["status_code_ranges"]]
        quotas = args.get("quotas", [])
        quota_warning = args.get("quota_warning_percent", 80)
        ptu_percent = args.get("ptu_utilization_percent", 90)
        group = monitor.ActionGroup(
            f"{name}-action-group",
            resource_group_name=self._resource_group_name,
            action_group_name=f"ag-{self._name_prefix}-genai-gateway",
            # At most 12 characters: shown as the sender of SMS and e-mail notifications.
            group_short_name=f"gw{self._name_prefix}"[:12],
            location="Global",
            enabled=True,
            email_receivers=[
                monitor.MicrosoftCommonEmailReceiverArgs(
                    name=r["name"], email_address=r["email"], use_common_alert_schema=True
                )
                for r in args["email_receivers"]
            ],
            tags=tags,
            opts=child,
        )
        self.action_group_id = group.id
        # Names of the rules declared, for tests and review (not a component output).
        self.rule_names: list[str] = []
        # The remaining quota is what the quota rules read: log that one response header, never a body.
        apimanagement.Diagnostic(
            f"{name}-azuremonitor",
            diagnostic_id="azuremonitor",
            service_name=args["apim_name"],
            resource_group_name=self._resource_group_name,
            logger_id=args.get("azure_monitor_logger_id")
            or pulumi.Output.concat(args["apim_id"], "/loggers/azuremonitor"),
            sampling=apimanagement.SamplingSettingsArgs(sampling_type="fixed", percentage=100),
            log_client_ip=False,
            frontend=apimanagement.PipelineDiagnosticSettingsArgs(
                request=no_payload_logging(), response=no_payload_logging(headers=[QUOTA_HEADER])
            ),
            backend=apimanagement.PipelineDiagnosticSettingsArgs(
                request=no_payload_logging(), response=no_payload_logging()
            ),
            opts=child,
        )
        if quotas:
            for percent, severity, what in ((quota_warning, 2, "warning"), (100, 1, "exhausted")):
                self._log_rule(
                    name, group, f"quota-{what}", severity,
                    f"Consumer quota {percent}% used",
                    f"A consumer has used {percent}% or more of its token quota (for a budgeted consumer: of the "
                    f"tokens its budget buys), read from the gateway's {QUOTA_HEADER} header.",
                    quota_query(quotas, percent), window_minutes=60, frequency_minutes=15,
                    dimensions=["ProductId"],
                )
        self._log_rule(
            name, group, "throttling", 2, "Gateway 429 rate",
            f"More than {throttling['percent']}% of the gateway's answers were 429 over "
            f"{throttling['window_minutes']} minutes (at least {throttling['min_requests']} requests).",
            throttling_query(throttling["percent"], throttling["min_requests"]),
            window_minutes=throttling["window_minutes"], frequency_minutes=5,
        )
        self._log_rule(
            name, group, "breaker-trips", 1, "Backend circuit breaker tripped",
            f"A backend returned {failure_count} or more failures within {interval} "
            "minute(s), which trips its circuit breaker, or a pool answered 503 with every member tripped.",
            breaker_query(ranges, failure_count, interval),
            window_minutes=log_window(interval), frequency_minutes=5, dimensions=["Backend"],
        )
        for ptu in args.get("ptu_deployments", []):
            account, deployment = ptu["account"], ptu["deployment"]
            rule = f"{name}-ptu-{account}-{deployment}"
            monitor.MetricAlert(
                rule,
                rule_name=f"ptu-utilization-{self._name_prefix}-{account}-{deployment}",
                resource_group_name=self._resource_group_name,
                location="global",
                description=f"Provisioned-managed utilisation of {deployment} on {account} above "
                            f"{ptu_percent}%: requests beyond it get 429 and spill over.",
                severity=2,
                enabled=True,
                scopes=[ptu["account_id"]],
                evaluation_frequency="PT5M",
                window_size="PT15M",
                auto_mitigate=True,
                criteria=monitor.MetricAlertSingleResourceMultipleMetricCriteriaArgs(
                    odata_type="Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria",
                    all_of=[monitor.MetricCriteriaArgs(
                        criterion_type="StaticThresholdCriterion",
                        name="utilization",
                        metric_name=PTU_METRIC,
                        metric_namespace=PTU_METRIC_NAMESPACE,
                        operator="GreaterThan",
                        threshold=float(ptu_percent),
                        time_aggregation="Average",
                        dimensions=[monitor.MetricDimensionArgs(
                            name="ModelDeploymentName", operator="Include", values=[deployment])],
                    )],
                ),
                actions=[monitor.MetricAlertActionArgs(action_group_id=group.id)],
                tags=tags,
                opts=child,
            )
            self.rule_names.append(rule)
        self.register_outputs({"actionGroupId": self.action_group_id})

    def _log_rule(self, name: str, group: monitor.ActionGroup, kind: str, severity: int,
                  display: str, description: str, query: str, *, window_minutes: int, frequency_minutes: int,
                  dimensions: Sequence[str] = ()) -> None:
        rule = f"{name}-{kind}"
        monitor.ScheduledQueryRule(
            rule,
            rule_name=f"{kind}-{self._name_prefix}-genai-gateway",
            resource_group_name=self._resource_group_name,
            location=self._location,
            kind="LogAlert",
            display_name=f"GenAI gateway: {display}",
            description=description,
            severity=severity,
            enabled=True,
            scopes=[self._workspace_id],
            evaluation_frequency=iso_duration(frequency_minutes),
            window_size=iso_duration(window_minutes),
            auto_mitigate=True,
            criteria=monitor.ScheduledQueryRuleCriteriaArgs(all_of=[monitor.ConditionArgs(
                query=query,
                time_aggregation="Count",
                operator="GreaterThan",
                threshold=0,
                dimensions=[monitor.DimensionArgs(name=d, operator="Include", values=["*"]) for d in dimensions],
                failing_periods=monitor.ConditionFailingPeriodsArgs(
                    number_of_evaluation_periods=1, min_failing_periods_to_alert=1),
            )]),
            actions=monitor.ActionsArgs(action_groups=[group.id]),
            tags=dict(self._tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.rule_names.append(rule)
