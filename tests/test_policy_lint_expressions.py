"""Policy lint, expressions: every policy expression parses as C#, returns on every path, is the whole value, and uses
only the types API Management allows.
"""

from __future__ import annotations

import pytest

from tests.policy_lint_support import api, lint, only_error


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
