"""Helpers for the policy lint tests: a small valid API policy and its fragments, written the way the project sends
them (`format: rawxml`: expressions as plain C#, with `"`, `<` and `&&` unescaped), the plan's references, and a
recording that holds them.
"""

from __future__ import annotations

from typing import Any

from tools.harness import RecordedResource, Recording
from tools.policy_lint import LintError, References, lint_document

REFERENCES = References(
    backends={"pool-gpt-4o", "content-safety"},
    loggers={"usage-eventhub", "appinsights"},
    fragments={"consumer-auth", "token-metrics", "spillover-retry", "usage-record"},
    named_values={"gateway-identity-client-id", "tenant-id"},
)

API_POLICY = """\
<policies>
    <inbound>
        <base />
        <include-fragment fragment-id="consumer-auth" />
        <include-fragment fragment-id="token-metrics" />
        <choose>
            <when condition="@(context.Request.Headers.GetValueOrDefault("x-priority", "") == "batch"
                && context.Variables.GetValueOrDefault<int>("attempt", 0) < 3)">
                <set-header name="x-routed" exists-action="override">
                    <value>@(context.Request.MatchedParameters.GetValueOrDefault("deployment-id", "none"))</value>
                </set-header>
            </when>
            <otherwise>
                <set-variable name="priority" value="interactive" />
            </otherwise>
        </choose>
        <set-backend-service backend-id="pool-gpt-4o" />
    </inbound>
    <backend>
        <include-fragment fragment-id="spillover-retry" />
    </backend>
    <outbound>
        <base />
        <include-fragment fragment-id="usage-record" />
    </outbound>
    <on-error>
        <base />
        <set-header name="x-ms-region" exists-action="delete" />
    </on-error>
</policies>
"""

FRAGMENTS = {
    "consumer-auth": """\
<fragment>
    <authentication-managed-identity resource="https://cognitiveservices.azure.com"
        client-id="{{gateway-identity-client-id}}" output-token-variable-name="msi-token" />
    <set-header name="api-key" exists-action="delete" />
    <llm-token-limit counter-key="@(context.Subscription.Id)" tokens-per-minute="20000"
        estimate-prompt-tokens="true" remaining-tokens-header-name="x-ratelimit-remaining-tokens"
        tokens-consumed-variable-name="tokens-consumed" />
</fragment>
""",
    "token-metrics": """\
<fragment>
    <llm-emit-token-metric namespace="genai-gateway">
        <dimension name="Subscription ID" />
        <dimension name="Backend ID" />
        <dimension name="Deployment" value='@(context.Request.MatchedParameters["deployment-id"])' />
    </llm-emit-token-metric>
</fragment>
""",
    "spillover-retry": """\
<fragment>
    <retry condition="@(context.Response.StatusCode == 429 || context.Response.StatusCode == 503)"
        count="3" interval="0" first-fast-retry="true">
        <forward-request buffer-request-body="true" buffer-response="false" timeout="120" />
    </retry>
</fragment>
""",
    "usage-record": """\
<fragment>
    <log-to-eventhub logger-id="usage-eventhub"
        partition-key='@(context.Subscription != null ? context.Subscription.Id : "anonymous")'>@{
        JObject usage = null;
        string contentType = context.Response.Headers.GetValueOrDefault("Content-Type", "");
        if (context.Response.StatusCode == 200 && !contentType.StartsWith("text/event-stream")) {
            var body = context.Response.Body.As<JObject>(preserveContent: true);
            usage = body["usage"] as JObject;
        }
        return new JObject(
            new JProperty("requestId", context.RequestId.ToString()),
            new JProperty("timestamp", DateTime.UtcNow.ToString("o")),
            new JProperty("totalTokens", usage != null ? (int?)usage["total_tokens"] : null)
        ).ToString(Formatting.None);
    }</log-to-eventhub>
</fragment>
""",
}


def api(inbound: str = "", backend: str = "", outbound: str = "", on_error: str = "") -> str:
    """An API policy whose sections hold the given XML, one line per section (section tags on lines 2-5)."""
    return (
        f"<policies>\n<inbound>{inbound}</inbound>\n<backend>{backend}</backend>\n"
        f"<outbound>{outbound}</outbound>\n<on-error>{on_error}</on-error>\n</policies>\n"
    )


def fragment(body: str) -> str:
    return f"<fragment>\n{body}\n</fragment>\n"


def lint(text: str, kind: Any = "api", references: References | None = REFERENCES, **kw: Any) -> list[LintError]:
    return lint_document("doc", text, kind, references, **kw)


def only_error(errors: list[LintError]) -> LintError:
    failures = [e for e in errors if e.level == "error"]
    assert len(failures) == 1, [str(e) for e in errors]
    return failures[0]


def resource(type_: str, name: str, **inputs: Any) -> RecordedResource:
    return RecordedResource(
        urn=f"urn:pulumi:test::genai-gateway::{type_}::{name}",
        type=type_,
        name=name,
        parent=None,
        custom=True,
        inputs=inputs,
        dependencies=[],
        property_dependencies={},
        protect=False,
    )


def recording(api_policy: str = API_POLICY, fragments: dict[str, str] | None = None, fmt: str = "rawxml") -> Recording:
    fragments = FRAGMENTS if fragments is None else fragments
    apim = "azure-native:apimanagement:"
    resources = [
        resource(apim + "Backend", "pool", backendId="pool-gpt-4o", type="Pool"),
        resource(apim + "Backend", "safety", backendId="content-safety", url="https://cs", protocol="http"),
        resource(apim + "Logger", "eh", loggerId="usage-eventhub", loggerType="azureEventHub"),
        resource(apim + "NamedValue", "nv", namedValueId="identity", displayName="gateway-identity-client-id"),
        *(
            resource(apim + "PolicyFragment", f"frag-{fid}", id=fid, value=v, format=fmt)
            for fid, v in fragments.items()
        ),
        resource(apim + "ApiPolicy", "api-policy", apiId="openai", policyId="policy", value=api_policy, format=fmt),
    ]
    return Recording(project="genai-gateway", stack="test", resources=resources, outputs={})
