"""tools/csharp: policy expressions compile against the typed model of APIM's context (ApimContext.cs)."""

from __future__ import annotations

from pathlib import Path

from tools.csharp.allow_list import allowed_types
from tools.csharp.compiler import CompileResult, Expression, compile_expressions, method_name


def compile_one(code: str, returns: str = "object") -> CompileResult:
    return compile_expressions([Expression("x", code, returns)])


DOCUMENTED = [
    ('@(context.Request.Headers.GetValueOrDefault("Authorization", "") != "")', "bool"),
    ('@(context.Variables.GetValueOrDefault<int>("n", 0))', "int"),
    ('@((string)context.Variables.GetValueOrDefault("consumer-id"))', "string"),
    ('@(context.Request.Body.As<JObject>(preserveContent: true)["model"]?.ToString())', "string"),
    (
        '@(context.Request.Headers.GetValueOrDefault("Authorization", "")'
        '.AsJwt()?.Claims.GetValueOrDefault("azp", ""))',
        "string",
    ),
    ("@(context.Subscription.Key)", "string"),
    ('@(context.Request.Url.Query.GetValueOrDefault("api-version", ""))', "string"),
    ("@(context.Deployment.Region)", "string"),
    ("@(context.Response.StatusCode)", "int"),
    ("@(context.LastError.Source + context.LastError.Reason + context.LastError.Message)", "string"),
    ("@(context.Elapsed.TotalMilliseconds)", "double"),
    ('@(context.Timestamp.ToString("o"))', "string"),
    ('@(context.Request.MatchedParameters.GetValueOrDefault("deployment-id", ""))', "string"),
    ('@{ context.Trace("x"); return Regex.IsMatch("a", "a") ? 1L : 2L; }', "long"),
    # The reference's own examples (#PolicyExpressionsExamples).
    ("@(true)", "bool"),
    ("@((1+1).ToString())", "string"),
    ('@("Hi There".Length)', "int"),
    (
        '@(Regex.Match(context.Response.Headers.GetValueOrDefault("Cache-Control",""), @"max-age=(?<maxAge>\\d+)")'
        '.Groups["maxAge"]?.Value)',
        "string",
    ),
    ('@(context.Variables.ContainsKey("maxAge") ? int.Parse((string)context.Variables["maxAge"]) : 3600)', "int"),
    (
        """@{
  string[] value;
  if (context.Request.Headers.TryGetValue("Authorization", out value))
  {
      if(value != null && value.Length > 0)
      {
          return Encoding.UTF8.GetString(Convert.FromBase64String(value[0]));
      }
  }
  return null;

}""",
        "string",
    ),
    # Forms outside the reference's table that APIM's samples use: no default, MatchedParameters.
    ('@(context.Request.Headers.GetValueOrDefault("Authorization"))', "string"),
    ('@(context.Variables.GetValueOrDefault<string>("user-id"))', "string"),
    ('@(context.Variables.GetValueOrDefault("attempt", 0) + 1)', "int"),
]


def test_documented_members_compile() -> None:
    """One compiler run for all: each expression's key is its index in DOCUMENTED."""
    result = compile_expressions([Expression(str(i), code, returns) for i, (code, returns) in enumerate(DOCUMENTED)])
    assert [(DOCUMENTED[int(e.key or 0)][0], e.message) for e in result.errors] == []
    assert result.assembly is not None and result.assembly.is_file()


def test_unknown_member_on_request_is_reported_at_its_column() -> None:
    (error,) = compile_one("@(context.Request.Foo)").errors
    assert (error.key, error.line, error.column) == ("x", 1, 19)
    assert "CS1061" in error.message and "`Foo'" in error.message


def test_a_cast_that_cannot_compile_is_reported_on_its_line() -> None:
    (error,) = compile_one('@{\n    var n = (int)"five";\n    return n;\n}').errors
    assert (error.line, error.column) == (2, 18)
    assert "CS0030" in error.message


def test_a_result_of_the_wrong_type_fails() -> None:
    (error,) = compile_one('@("yes")', "bool").errors
    assert "CS0029" in error.message and "`bool'" in error.message


def test_a_body_without_return_on_every_path_fails_at_its_first_line() -> None:
    (error,) = compile_one("@{ if (context.Tracing) { return 1; } }", "int").errors
    assert (error.line, error.column) == (1, 1)
    assert error.message == "CS0161: the expression: not all code paths return a value"


def test_a_syntax_error_does_not_hide_errors_of_other_expressions() -> None:
    result = compile_expressions(
        [Expression("syntax", "@(1 +)", "int"), Expression("member", "@(context.Nope)", "object")]
    )
    assert {e.key for e in result.errors} == {"syntax", "member"}
    assert result.assembly is None


def test_results_are_cached_by_content(tmp_path: Path) -> None:
    first = compile_one("@(context.RequestId.ToString())", "string")
    second = compile_expressions(
        [Expression("x", "@(context.RequestId.ToString())", "string")], output=tmp_path / "a.dll"
    )
    assert first.assembly is not None and first.assembly.parent.name == "csharp"
    assert second.assembly == tmp_path / "a.dll" and second.assembly.read_bytes() == first.assembly.read_bytes()


def test_method_names_are_deterministic_identifiers() -> None:
    assert method_name("fragment 'x'#3") == method_name("fragment 'x'#3")
    assert method_name("fragment 'x'#3").isidentifier()
    assert method_name("a") != method_name("b")


def test_the_allow_list_is_the_references_table() -> None:
    types = allowed_types()
    assert len(types) == 129
    assert types["System.Text.RegularExpressions.Regex"].startswith("(Constructor), IsMatch")
    assert "System.IO.File" not in types
