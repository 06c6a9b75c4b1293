"""The emulator runs a plan that composes the gateway on an existing API Management service (examples/existing-apim):
the service's name comes from its children, its region is stated as not in the plan, and callers with the
official `openai` SDK get PTU-first routing and the spill-over to pay-as-you-go.

The scenario suite's Target reads a project stack's settings (tools/scenarios/target.py), which this program
does not have: the Target here is built from the example's own config and the emulator's model, and the suite's
routing and spill-over scenarios run against it unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tools import plan as plan_tool
from tools.emulator.gateway import Gateway
from tools.emulator.model import REGION_NOT_IN_PLAN, PlanError, read_model
from tools.emulator.server import EmulatorServer
from tools.scenarios.base import Consumer, Control, Target
from tools.scenarios.routing import chat_completion_reaches_each_allowed_chat_deployment
from tools.scenarios.spillover import throttled_ptu_spills_over_and_rests_for_retry_after

EXAMPLE_DIR = Path(__file__).resolve().parent.parent / "examples" / "existing-apim"
SERVICE = "apim-contoso-shared"


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    out = tmp_path_factory.mktemp("existing-apim-plan")
    assert plan_tool.main(["example", "--project-dir", str(EXAMPLE_DIR), "--out", str(out), "--quiet"]) == 0
    document: dict[str, object] = json.loads((out / "example.json").read_text())
    return document


@pytest.fixture(scope="module")
def server(plan: dict[str, object]) -> Iterator[EmulatorServer]:
    running = EmulatorServer(Gateway(read_model(plan), plan)).start()
    try:
        yield running
    finally:
        running.stop()


def _example_config() -> dict[str, object]:
    config: dict[str, object] = yaml.safe_load((EXAMPLE_DIR / "Pulumi.example.yaml").read_text())["config"]
    return {k.removeprefix("existing-apim:"): v for k, v in config.items()}


@pytest.fixture()
def target(server: EmulatorServer) -> Target:
    config = _example_config()
    keys = server.gateway.model.consumer_keys()
    accounts = config["accounts"]
    assert isinstance(accounts, list) and isinstance(config["consumers"], list)
    deployments = sorted({d["name"] for a in accounts for d in a["deployments"]})
    tier_order = {"ptu": 1, "paygo": 2}  # the example's pools: PTU first (tests/test_existing_apim_example.py)
    control = Control(server.url)
    control.reset()
    for account in accounts:
        control.backend(account["name"], "ok")
    return Target(
        base_url=server.url,
        api_path=server.gateway.model.primary_api.path,
        consumers={
            c["name"]: Consumer(name=c["name"], key=keys[c["name"]], deployments=tuple(c["deployments"]))
            for c in config["consumers"]
        },
        deployments=tuple(deployments),
        chat_deployments=tuple(deployments),
        embedding_deployments=(),
        accounts={a["name"]: a["tier"] for a in accounts},
        pools={
            d: [(a["name"], tier_order[a["tier"]]) for a in accounts if any(x["name"] == d for x in a["deployments"])]
            for d in deployments
        },
        backend_hosts=tuple(sorted(a.host for a in server.gateway.model.accounts.values())),
        control=control,
    )


def test_the_service_name_comes_from_its_children_and_the_region_is_stated_as_not_in_the_plan(
    server: EmulatorServer,
) -> None:
    assert server.gateway.model.service_name == SERVICE
    assert server.gateway.model.region == REGION_NOT_IN_PLAN


def test_a_consumers_key_gets_a_chat_completion_from_the_ptu_account_first(target: Target) -> None:
    assert target.control is not None
    consumer = target.consumers["team-alpha"]
    raw = target.client(consumer).chat.completions.with_raw_response.create(
        model="gpt-5.4", messages=[{"role": "user", "content": "Say pong"}], max_completion_tokens=8
    )
    assert raw.status_code == 200
    assert raw.parse().choices[0].message.content
    requests = {name: state["requests"] for name, state in target.control.accounts().items()}
    assert requests == {"ptu-1": 1, "paygo-1": 0}
    (record,) = target.control.usage_records()
    assert record["backendTier"] == "ptu" and record["gatewayRegion"] == REGION_NOT_IN_PLAN


def test_every_consumer_reaches_its_allowed_deployments(target: Target) -> None:
    chat_completion_reaches_each_allowed_chat_deployment(target)


def test_a_throttled_ptu_spills_over_to_pay_as_you_go_and_rests_for_retry_after(target: Target) -> None:
    throttled_ptu_spills_over_and_rests_for_retry_after(target)


def _with_services(plan: dict[str, object], names: list[str]) -> dict[str, object]:
    resources = plan["resources"]
    assert isinstance(resources, list)
    services = [
        {"type": "azure-native:apimanagement:ApiManagementService", "inputs": {"serviceName": n, "location": "x"}}
        for n in names
    ]
    return {**plan, "resources": [*resources, *services]}


def test_a_plan_with_two_services_is_refused(plan: dict[str, object]) -> None:
    with pytest.raises(PlanError, match="must declare one API Management service, it declares 2"):
        read_model(_with_services(plan, ["a", "b"]))


def test_a_plan_without_a_service_whose_children_name_two_services_is_refused(plan: dict[str, object]) -> None:
    resources = plan["resources"]
    assert isinstance(resources, list)
    other = next(r for r in resources if r["type"] == "azure-native:apimanagement:NamedValue")
    renamed = {**other, "inputs": {**other["inputs"], "serviceName": "apim-other"}}
    with pytest.raises(PlanError, match=r"name 2 services: \['apim-contoso-shared', 'apim-other'\]"):
        read_model({**plan, "resources": [*resources, renamed]})
