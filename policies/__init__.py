"""The GenAI gateway's guardrail pack (pulumi-policy).

`policies.rules` holds every rule and is importable from the project root (the offline plan and the tests
use it); `policies/__main__.py` only builds the `PolicyPack` for the Pulumi CLI, importing the same package as
`rules` from inside the folder: `pulumi preview|up --policy-pack policies --policy-pack-config
"$(python -m tools.guardrails --config-for <stack>)"`.
"""
