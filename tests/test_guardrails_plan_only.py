"""Guardrails the offline plan evaluates itself (policies/rules/plan_only.py): pulumi-policy does not see stack
outputs, so the plan refuses a secret in a plain stack output.
"""

from __future__ import annotations

from tests.guardrail_support import assert_fails, check, edited
from tools.harness import Recording, Secret


def test_no_secret_in_plain_output(prod: Recording) -> None:
    rule = "no-secret-in-plain-output"
    key = prod.outputs["consumerKey-customer-support"]
    assert isinstance(key, Secret)
    plain = edited(prod, lambda r: r.outputs.update(apiKeys={"customer-support": key.value}))
    assert_fails(check(plain, rule), rule, "mandatory", "Stack output 'apiKeys' is named like a secret")
    a_key = key.value
    leaked = edited(prod, lambda r: r.outputs.update(debug={"header": a_key}))
    assert_fails(check(leaked, rule), rule, "mandatory", "'debug.header' holds a secret value in plain text")
    connection = "Endpoint=sb://x.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=abc="
    leaked = edited(prod, lambda r: r.outputs.update(eventHub=connection))
    assert_fails(check(leaked, rule), rule, "mandatory", "'eventHub' holds a secret value")
