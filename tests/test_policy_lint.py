"""Policy lint: what an APIM policy document must satisfy before it reaches Azure.

Each test is one behaviour. Documents are written here the way the project sends them (`format: rawxml`:
expressions as plain C#, with `"`, `<` and `&&` unescaped).
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import pytest

from tools.csharp.allow_list import allowed_types
from tools.harness import RecordedResource, Recording
from tools.policy_lint import (
    CATALOGUE_PATH,
    SECTIONS,
    Inclusion,
    LintError,
    References,
    lint_document,
    lint_recording,
    main,
)
from tools.violations import collect

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


# -- passing documents -------------------------------------------------------------------------------


def test_a_valid_api_policy_and_its_fragments_pass_with_no_errors() -> None:
    assert lint_recording(recording()) == []


@pytest.mark.parametrize("fragment_id", sorted(FRAGMENTS))
def test_each_valid_fragment_passes_where_it_is_included(fragment_id: str) -> None:
    section = {"spillover-retry": "backend", "usage-record": "outbound"}.get(fragment_id, "inbound")
    included = [Inclusion(section, "api", "api policy 'openai'")]
    assert lint(FRAGMENTS[fragment_id], "fragment", included_in=included) == []


def test_expressions_are_read_as_apim_reads_rawxml_with_quotes_less_than_and_ampersands_unescaped() -> None:
    condition = '@(context.Request.Headers.GetValueOrDefault("a", "") == "b" && context.Response.StatusCode < 400)'
    text = api(inbound=f'<choose><when condition="{condition}"><set-variable name="x" value="1" /></when></choose>')
    assert lint(text) == []


def test_escaped_and_cdata_expressions_are_read_like_raw_ones() -> None:
    escaped = (
        '<set-variable name="x" value="@(context.Request.Headers.GetValueOrDefault(&quot;a&quot;, &quot;&quot;)'
        ' != &quot;&quot; &amp;&amp; 1 &lt; 2)" />'
    )
    cdata = "<set-body><![CDATA[@{ var b = context.Request.Body.As<JObject>(); return b.ToString(); }]]></set-body>"
    assert lint(api(inbound=escaped + cdata)) == []


def test_generics_in_element_text_are_read_as_written() -> None:
    body = (
        "<set-body>@{ var b = context.Request.Body.As<JObject>(preserveContent: true); return b.ToString(); }"
        "</set-body>"
    )
    assert lint(api(inbound=body)) == []


def test_a_liquid_body_may_use_double_braces_without_being_a_named_value() -> None:
    body = '<set-body template="liquid">{"id": "{{body.customer.id}}"}</set-body>'
    assert lint(api(inbound=body)) == []


# -- well-formed XML and document structure --------------------------------------------------------


def test_malformed_xml_is_an_error_naming_the_line() -> None:
    error = only_error(lint("<policies>\n<inbound>\n<base />\n</outbound>\n</policies>\n"))
    assert (error.document, error.line, error.element) == ("doc", 4, "xml")
    assert "not well-formed XML" in error.message
    assert str(error).startswith("doc, line 4, <xml>:")


def test_an_unclosed_expression_is_pointed_at_in_the_xml_error() -> None:
    error = only_error(lint(api(inbound='<set-variable name="x" value="@(context.Request.Method == ")" />')))
    assert error.line == 2
    assert "expression starting at line 2 is not closed" in error.message


def test_a_fragment_must_have_the_fragment_root() -> None:
    error = only_error(lint(api(inbound="<base />"), "fragment"))
    assert (error.line, error.element) == (1, "policies")
    assert "root <fragment>" in error.message


def test_a_fragment_cannot_hold_a_section() -> None:
    error = only_error(lint(fragment('<inbound><set-variable name="a" value="b" /></inbound>'), "fragment"))
    assert (error.line, error.element) == (2, "inbound")
    assert "a fragment holds no section elements" in error.message


def test_a_fragment_cannot_hold_base() -> None:
    error = only_error(lint(fragment("<base />"), "fragment"))
    assert (error.line, error.element) == (2, "base")
    assert "cannot contain <base />" in error.message


def test_a_fragment_cannot_include_another_fragment() -> None:
    error = only_error(lint(fragment('<include-fragment fragment-id="usage-record" />'), "fragment"))
    assert (error.line, error.element) == (2, "include-fragment")
    assert "cannot include another fragment" in error.message


def test_a_fragment_over_32_kb_is_an_error() -> None:
    padding = "<!-- " + "x" * 33_000 + " -->"
    error = only_error(lint(fragment(padding), "fragment"))
    assert (error.line, error.element) == (1, "fragment")
    assert "at most 32768 bytes" in error.message


def test_a_fragment_of_exactly_32_kb_passes() -> None:
    text = fragment("<!--  -->")
    text = text.replace("<!--  -->", "<!-- " + "x" * (32 * 1024 - len(text.encode())) + " -->")
    assert len(text.encode()) == 32 * 1024
    assert lint(text, "fragment") == []


def test_a_policy_document_has_the_policies_root() -> None:
    error = only_error(lint(fragment('<set-variable name="a" value="b" />')))
    assert "root <policies>" in error.message


def test_sections_come_in_order_each_at_most_once() -> None:
    errors = lint(
        "<policies>\n<outbound />\n<inbound />\n<inbound />\n<set-variable name='a' value='b' />\n</policies>\n"
    )
    assert [(e.line, e.element) for e in errors] == [(3, "inbound"), (4, "inbound"), (5, "set-variable")]
    assert "comes after <outbound>" in errors[0].message
    assert "more than once" in errors[1].message
    assert "holds only the sections" in errors[2].message


def test_base_only_goes_directly_in_a_section() -> None:
    error = only_error(lint(api(inbound="<choose><when condition='@(true)'><base /></when></choose>")))
    assert error.element == "base"
    assert "direct child of a section" in error.message


# -- placement -----------------------------------------------------------------------------------------


def test_llm_token_limit_is_not_allowed_in_outbound() -> None:
    limit = (
        '<llm-token-limit counter-key="@(context.Subscription.Id)" tokens-per-minute="100" '
        'estimate-prompt-tokens="false" />'
    )
    error = only_error(lint(api(outbound=limit)))
    assert (error.line, error.element) == (4, "llm-token-limit")
    assert "not allowed in the outbound section" in error.message
    assert "Azure allows it in: inbound" in error.message


def test_forward_request_is_not_allowed_in_inbound() -> None:
    error = only_error(lint(api(inbound="<forward-request />")))
    assert (error.line, error.element) == (2, "forward-request")
    assert "Azure allows it in: backend" in error.message


def test_a_policy_nested_in_retry_is_placed_in_the_enclosing_section() -> None:
    text = api(inbound='<retry condition="@(true)" count="2" interval="1"><forward-request /></retry>')
    assert only_error(lint(text)).element == "forward-request"


def test_a_policy_not_allowed_at_the_document_scope_is_an_error() -> None:
    error = only_error(lint(api(inbound='<rate-limit calls="10" renewal-period="60" />'), "global"))
    assert "not allowed at global scope" in error.message


def test_a_fragment_is_checked_against_the_section_that_includes_it() -> None:
    api_policy = API_POLICY.replace(
        '<include-fragment fragment-id="usage-record" />', '<include-fragment fragment-id="consumer-auth" />'
    )
    errors = [e for e in lint_recording(recording(api_policy)) if e.level == "error"]
    assert {(e.document, e.element) for e in errors} == {
        ("fragment 'consumer-auth'", "authentication-managed-identity"),
        ("fragment 'consumer-auth'", "llm-token-limit"),
    }
    token_limit = next(e for e in errors if e.element == "llm-token-limit")
    assert token_limit.line == 5
    assert "not allowed in the outbound section (this fragment is included there by api policy 'api-policy')" in (
        token_limit.message
    )


def test_a_fragment_included_nowhere_is_advisory_and_only_structure_checked() -> None:
    errors = lint_recording(recording(fragments={**FRAGMENTS, "spare": fragment("<forward-request />")}))
    assert [(e.document, e.level) for e in errors] == [("fragment 'spare'", "advisory")]
    assert "unused" in errors[0].message


def test_a_policy_allowed_once_per_section_is_an_error_the_second_time() -> None:
    cors = (
        "<cors><allowed-origins><origin>*</origin></allowed-origins>"
        "<allowed-headers><header>*</header></allowed-headers></cors>"
    )
    error = only_error(lint(api(inbound=cors + cors)))
    assert "only be used once in a policy section" in error.message


# -- elements and attributes ---------------------------------------------------------------------------


def test_an_unknown_element_is_an_error_naming_it() -> None:
    error = only_error(lint(api(inbound='<set-headers name="x" />')))
    assert (error.line, error.element) == (2, "set-headers")
    assert "unknown policy element <set-headers>" in error.message


def test_a_child_element_out_of_its_policy_is_not_taken_for_a_policy() -> None:
    error = only_error(lint(api(inbound="<dimension name='API ID' />")))
    assert "is a child element of" in error.message and "<llm-emit-token-metric>" in error.message


def test_an_unexpected_child_element_is_an_error() -> None:
    error = only_error(lint(api(inbound='<set-header name="x"><values>1</values></set-header>')))
    assert error.element == "set-header/values"
    assert "allowed: <value>" in error.message


def test_a_missing_required_attribute_is_an_error() -> None:
    limit = '<llm-token-limit tokens-per-minute="100" estimate-prompt-tokens="false" />'
    error = only_error(lint(api(inbound=limit)))
    assert (error.line, error.element) == (2, "llm-token-limit")
    assert "missing required attribute `counter-key`" in error.message


def test_one_of_the_required_attribute_groups_must_be_present() -> None:
    limit = '<llm-token-limit counter-key="a" token-quota="1000" estimate-prompt-tokens="false" />'
    error = only_error(lint(api(inbound=limit)))
    assert "needs `tokens-per-minute` or `token-quota` with `token-quota-period`" in error.message


def test_a_missing_required_child_element_is_an_error() -> None:
    error = only_error(lint(api(inbound="<choose><otherwise /></choose>")))
    assert "missing required child element <when>" in error.message


def test_a_bad_enum_value_is_an_error() -> None:
    error = only_error(lint(api(inbound='<set-header name="x" exists-action="replace" />')))
    assert (error.line, error.element) == (2, "set-header")
    assert "`exists-action` is 'replace'; allowed values: override, skip, append, delete" in error.message


def test_a_bad_enum_value_in_a_child_element_is_an_error() -> None:
    safety = (
        '<llm-content-safety backend-id="content-safety"><categories output-type="FourSeverityLevels">'
        '<category name="Hatred" threshold="4" /></categories></llm-content-safety>'
    )
    error = only_error(lint(api(inbound=safety)))
    assert error.element == "llm-content-safety/categories/category"
    assert "`name` is 'Hatred'" in error.message


def test_an_enum_attribute_given_by_an_expression_is_not_checked_against_the_values() -> None:
    assert lint(api(inbound='<set-header name="x" exists-action="@(&quot;skip&quot;)" />')) == []


def test_a_value_outside_the_documented_range_is_an_error() -> None:
    retry = '<retry condition="@(true)" count="60" interval="1"><forward-request /></retry>'
    error = only_error(lint(api(backend=retry)))
    assert "`count` is 60; it must be between 1 and 50" in error.message


def test_an_expression_where_the_reference_allows_none_is_an_error() -> None:
    log = '<log-to-eventhub logger-id="@(&quot;usage-eventhub&quot;)">x</log-to-eventhub>'
    error = only_error(lint(api(outbound=log)))
    assert "policy expressions aren't allowed in attribute `logger-id`" in error.message


def test_an_attribute_unknown_to_the_catalogue_is_advisory() -> None:
    errors = lint(api(inbound='<set-header name="x" exist-action="skip" />'))
    assert [e.level for e in errors] == ["advisory"]
    assert "`exist-action` is not in the catalogue" in errors[0].message


# -- references ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("xml", "element", "expected"),
    [
        ('<set-backend-service backend-id="pool-gpt-5" />', "set-backend-service", "names backend 'pool-gpt-5'"),
        (
            '<llm-content-safety backend-id="safety" />',
            "llm-content-safety",
            "names backend 'safety', which the plan does not declare as an apimanagement.Backend",
        ),
        ('<log-to-eventhub logger-id="audit">x</log-to-eventhub>', "log-to-eventhub", "names logger 'audit'"),
        ('<include-fragment fragment-id="cache" />', "include-fragment", "names fragment 'cache'"),
        (
            '<set-header name="x"><value>{{client-secret}}</value></set-header>',
            "value",
            "named value {{client-secret}} is not declared",
        ),
        (
            '<set-variable name="x" value="@(&quot;{{client-secret}}&quot;)" />',
            "set-variable",
            "named value {{client-secret}} is not declared",
        ),
    ],
)
def test_an_unresolved_reference_is_an_error(xml: str, element: str, expected: str) -> None:
    error = only_error(lint(api(inbound=xml)))
    assert (error.line, error.element) == (2, element)
    assert expected in error.message


def test_references_given_by_expressions_are_not_resolved() -> None:
    routing = '<set-backend-service backend-id="@((string)context.Variables[&quot;backend-id&quot;])" />'
    assert lint(api(inbound=routing)) == []


def test_ids_resolve_case_insensitively_like_azure_resource_names() -> None:
    assert lint(api(inbound='<set-backend-service backend-id="Pool-GPT-4o" />')) == []


def test_a_semantic_cache_needs_an_external_cache_in_the_plan() -> None:
    lookup = (
        '<llm-semantic-cache-lookup score-threshold="0.05" embeddings-backend-id="pool-gpt-4o" '
        'embeddings-backend-auth="system-assigned"><vary-by>@(context.Subscription.Id)</vary-by>'
        "</llm-semantic-cache-lookup>"
    )
    error = only_error(lint(api(inbound=lookup)))
    assert "needs an external cache" in error.message
    assert lint(api(inbound=lookup), references=dataclasses.replace(REFERENCES, caches={"default"})) == []


# -- expressions ---------------------------------------------------------------------------------------


def test_an_attribute_expression_that_does_not_parse_as_csharp_is_an_error() -> None:
    error = only_error(lint(api(inbound='<set-variable name="x" value="@(context.Request.Method ==)" />')))
    assert (error.line, error.element) == (2, "set-variable")
    assert "attribute `value`: C# syntax error" in error.message


def test_an_element_text_expression_that_does_not_parse_as_csharp_names_its_line() -> None:
    body = "<set-body>@{\n  var x = context.Request.Method\n  return x;\n}</set-body>"
    error = only_error(lint(api(inbound=body)))
    assert (error.line, error.element) == (2, "set-body")
    assert "text: C# syntax error" in error.message
    assert "document line 3" in error.message


def test_a_multi_statement_expression_without_return_is_an_error() -> None:
    error = only_error(lint(api(inbound="<set-body>@{ var x = 1; }</set-body>")))
    assert "must end every code path with `return`" in error.message


@pytest.mark.parametrize(
    ("code", "named"),
    [
        ('System.IO.File.ReadAllText("/etc/passwd")', "System.IO.File.ReadAllText"),
        ("new System.Net.Http.HttpClient().ToString()", "System.Net.Http.HttpClient"),
        ("new HttpClient().ToString()", "HttpClient"),
        ('Environment.GetEnvironmentVariable("PATH")', "Environment.GetEnvironmentVariable"),
        ('System.Diagnostics.Process.Start("sh").Id.ToString()', "System.Diagnostics.Process.Start"),
        ("System.Reflection.Assembly.GetExecutingAssembly().FullName", "System.Reflection.Assembly"),
        ("System.Threading.Tasks.Task.Delay(1).IsCompleted", "System.Threading.Tasks.Task.Delay"),
    ],
)
def test_an_expression_using_a_type_outside_the_allow_list_is_an_error(code: str, named: str) -> None:
    text = api(inbound=f"<set-body>@{{\n  var s = {code};\n  return s;\n}}</set-body>")
    error = only_error(lint(text))
    assert (error.line, error.element) == (2, "set-body")
    assert f"`{named}" in error.message
    assert "document line 3" in error.message


def test_allowed_types_context_locals_and_lambda_parameters_are_not_flagged() -> None:
    body = """<set-body>@{
        string[] value;
        var headers = new Dictionary<string, string>();
        if (context.Request.Headers.TryGetValue("Authorization", out value)) {
            headers["auth"] = Encoding.UTF8.GetString(Convert.FromBase64String(value[0]));
        }
        var names = context.Product.Apis.Select(a => a.Name).Where(n => Regex.IsMatch(n, "^g")).ToList();
        var jwt = context.Request.Headers.GetValueOrDefault("Authorization", "").AsJwt();
        var when = DateTime.UtcNow.Add(TimeSpan.FromMinutes(Math.Max(1, names.Count)));
        return new JObject(
            new JProperty("n", String.Join(",", names)),
            new JProperty("at", when),
            new JProperty("id", Guid.NewGuid())).ToString();
    }</set-body>"""
    assert lint(api(inbound=body)) == []


def test_an_expression_must_be_the_whole_value() -> None:
    error = only_error(lint(api(inbound='<set-variable name="x" value="@(1) and more" />')))
    assert "must be the whole value" in error.message


# -- recordings and the plan ---------------------------------------------------------------------------


def test_a_document_not_sent_as_rawxml_is_an_error() -> None:
    errors = lint_recording(recording(fmt="xml"))
    assert {e.document for e in errors} == {"api policy 'api-policy'", *(f"fragment '{f}'" for f in FRAGMENTS)}
    assert all("format is 'xml'" in e.message and e.level == "error" for e in errors)


def test_lint_errors_of_a_recording_carry_the_resource_urn() -> None:
    error = only_error(lint_recording(recording(API_POLICY.replace("pool-gpt-4o", "pool-gpt-5"))))
    assert error.urn == "urn:pulumi:test::genai-gateway::azure-native:apimanagement:ApiPolicy::api-policy"


def test_the_plan_reports_a_lint_error_as_a_mandatory_violation() -> None:
    broken = API_POLICY.replace('<set-backend-service backend-id="pool-gpt-4o" />', "<forward-request />")
    violations = [v for v in collect(recording(broken)) if v.policy == "policy-lint"]
    assert [(v.policy, v.level) for v in violations] == [("policy-lint", "mandatory")]
    assert violations[0].urn is not None and violations[0].urn.endswith("ApiPolicy::api-policy")
    assert violations[0].message.startswith("api policy 'api-policy', line 17, <forward-request>:")


def test_the_plan_reports_an_unused_fragment_as_advisory() -> None:
    spare = fragment("<set-variable name='a' value='b' />")
    violations = [v for v in collect(recording(fragments={**FRAGMENTS, "spare": spare})) if v.policy == "policy-lint"]
    assert [(v.policy, v.level) for v in violations] == [("policy-lint", "advisory")]


def test_the_real_stacks_have_no_lint_errors(stack: Recording) -> None:
    assert [str(v) for v in collect(stack) if v.policy == "policy-lint"] == []


def test_a_real_fragment_moved_to_the_wrong_section_fails_the_plan(dev: Recording) -> None:
    api_policy = dev.one("azure-native:apimanagement:ApiPolicy", "policies-api-policy")
    text = api_policy.get("value")
    backend = text[text.index("<backend>") : text.index("</backend>")]
    retry_include = re.search(r"<include-fragment [^>]*/>", backend)
    assert retry_include is not None
    moved = text.replace("<inbound>", "<inbound>" + retry_include.group(0), 1)
    mutated = dataclasses.replace(api_policy, inputs={**api_policy.inputs, "value": moved})
    broken = dataclasses.replace(dev, resources=[mutated if r is api_policy else r for r in dev.resources])
    errors = [v for v in collect(broken) if v.level == "mandatory"]
    assert errors and all("<forward-request> is not allowed in the inbound section" in v.message for v in errors)


# -- the catalogue and the command line ----------------------------------------------------------------


def test_every_catalogue_entry_names_its_source_and_valid_sections() -> None:
    catalogue = json.loads(CATALOGUE_PATH.read_text())
    for name, spec in catalogue["policies"].items():
        assert spec["url"].startswith("https://learn.microsoft.com/azure/api-management/"), name
        assert set(spec["sections"]) <= set(SECTIONS), name
        assert set(spec["scopes"]) <= set(catalogue["scopes"]), name
    assert {"System.IO.File", "System.Net.Http.HttpClient"}.isdisjoint(allowed_types())


def test_the_command_line_lints_files_and_fails_on_errors(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    good, bad = tmp_path / "good.xml", tmp_path / "bad.xml"
    good.write_text(FRAGMENTS["spillover-retry"])
    bad.write_text(api(inbound="<forward-request />"))
    assert main([str(good)]) == 0
    assert main([str(good), str(bad), "--backend", "pool-gpt-4o"]) == 1
    assert "bad.xml, line 2, <forward-request>" in capsys.readouterr().out
