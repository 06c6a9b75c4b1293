"""A stack's shape as a Mermaid diagram, generated from its offline plan: accounts -> pools -> consumers.

`python -m tools.diagram <stack>` runs the plan of the stack and writes `docs/stacks/<stack>.md`;
`--check` fails when the committed file differs (CI and the tests run it), `--plan FILE` renders an existing
plan document (`build/plan/<stack>.json`) instead. Everything comes from the plan document: the
`openaiAccounts` and `consumers` outputs and the API Management backends (pools with their members'
priorities and weights), so a reviewer sees each stack's shape without reading JSON.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from components.backend_ids import pool_backend_id

from .stack_config import PROJECT_DIR, known_stacks

DOCS_DIR = PROJECT_DIR / "docs" / "stacks"
BACKEND = "azure-native:apimanagement:Backend"


def _id(kind: str, name: str) -> str:
    return f"{kind}_{re.sub(r'[^A-Za-z0-9]', '_', name)}"


def _label(*lines: str) -> str:
    # Mermaid labels in double quotes: no double quotes inside, line breaks as <br/>.
    return '"' + "<br/>".join(line.replace('"', "'") for line in lines if line) + '"'


def _number(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def _capacity(deployment: Mapping[str, Any]) -> str:
    # Provisioned SKUs count PTUs; the others thousands of tokens per minute.
    capacity = _number(deployment.get("capacity"))
    return f"{capacity} PTU" if "Provisioned" in str(deployment.get("sku")) else f"{capacity}K TPM"


def _backends(plan: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Backend id -> its inputs, for every API Management backend of the plan."""
    return {
        str(r["inputs"].get("backendId")): r["inputs"]
        for r in plan["resources"]
        if r["type"] == BACKEND and r["inputs"].get("backendId")
    }


def _account_of(url: str, accounts: list[dict[str, Any]]) -> str | None:
    """The account a Single backend's URL points at (its endpoint host)."""
    for account in accounts:
        endpoint = str(account.get("endpoint") or "")
        if endpoint and url.startswith(endpoint.rstrip("/")):
            return str(account["name"])
    return None


def mermaid(plan: Mapping[str, Any]) -> str:
    outputs = plan["outputs"]
    accounts: list[dict[str, Any]] = list(outputs.get("openaiAccounts") or [])
    consumers: dict[str, dict[str, Any]] = dict(outputs.get("consumers") or {})
    backends = _backends(plan)
    lines = ["flowchart LR"]

    lines.append('  subgraph accounts["Azure OpenAI accounts"]')
    for account in accounts:
        tier = "simulated PTU" if account.get("simulated") else str(account.get("tier"))
        deployments = [f"{d['name']}: {d.get('sku')}, {_capacity(d)}" for d in account.get("deployments") or []]
        label = _label(str(account["name"]), f"{tier}, {account.get('region')}", *deployments)
        lines.append(f"    {_id('account', account['name'])}[{label}]")
    lines.append("  end")

    pools = {bid: inputs for bid, inputs in backends.items() if inputs.get("type") == "Pool"}
    lines.append('  subgraph pools["Backend pools (a circuit breaker on every member)"]')
    for bid in sorted(pools):
        title = str(pools[bid].get("title") or "")
        lines.append(f"    {_id('pool', bid)}[{_label(bid, title)}]")
    lines.append("  end")

    lines.append('  subgraph consumers["Consumers (a product and a key each)"]')
    for name in sorted(consumers):
        c = consumers[name]
        limit = f"{_number(c.get('tokensPerMinute'))} tokens/min"
        quota = (
            f"quota {_number(c['tokenQuota'])} {c.get('tokenQuotaPeriod') or ''}".rstrip()
            if c.get("tokenQuota")
            else ""
        )
        budget = "from a currency budget" if c.get("budgetTokenQuota") else ""
        vault = "key also in Key Vault" if c.get("keyVaultSecretUri") else ""
        lines.append(f"    {_id('consumer', name)}[{_label(name, limit, quota, budget, vault)}]")
    lines.append("  end")

    for bid in sorted(pools):
        for member in (pools[bid].get("pool") or {}).get("services") or []:
            single = backends.get(str(member.get("id", "")).rsplit("/", 1)[-1], {})
            host = _account_of(str(single.get("url") or ""), accounts)
            if host is None:
                continue
            edge = f"priority {member.get('priority')}, weight {member.get('weight')}"
            lines.append(f"  {_id('account', host)} -- \"{edge}\" --> {_id('pool', bid)}")
    for name in sorted(consumers):
        for deployment in consumers[name].get("deployments") or []:
            pool = pool_backend_id(str(deployment))
            if pool in pools:
                lines.append(f"  {_id('pool', pool)} --> {_id('consumer', name)}")
    return "\n".join(lines)


def document(plan: Mapping[str, Any]) -> str:
    stack = plan["stack"]
    return (
        f"# Stack `{stack}`: accounts, pools and consumers\n\n"
        f"Generated from the offline plan by `python -m tools.diagram {stack}`; do not edit (a test checks it\n"
        "is up to date). Edges from an account to a pool carry the member's priority (lower is served first)\n"
        "and weight; a consumer is linked to the pool of each deployment it may call, with its limits.\n\n"
        f"```mermaid\n{mermaid(plan)}\n```\n"
    )


def plan_of(stack: str, project_dir: Path = PROJECT_DIR) -> dict[str, Any]:
    """The plan document of a stack (checks are not needed for its shape)."""
    from .harness import run_stack
    from .plan import plan_document

    return plan_document(run_stack(stack, project_dir=project_dir), [])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.diagram", description=__doc__.splitlines()[0])
    parser.add_argument("stack", help=f"one of: {', '.join(known_stacks())}")
    parser.add_argument("--plan", type=Path, help="render this plan document instead of running the plan")
    parser.add_argument("--out", type=Path, default=DOCS_DIR, help="output folder")
    parser.add_argument("--check", action="store_true", help="fail when the written file is not up to date")
    args = parser.parse_args(argv)
    plan = json.loads(args.plan.read_text()) if args.plan else plan_of(args.stack)
    text = document(plan)
    target = args.out / f"{args.stack}.md"
    if args.check:
        if not target.exists() or target.read_text() != text:
            print(f"{target} is not up to date: run python -m tools.diagram {args.stack}", file=sys.stderr)
            return 1
        print(f"{target} is up to date")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
