"""One emulator per stack per test session, reset between scenarios; and scenarios as pytest parameters."""

from __future__ import annotations

import atexit
from collections.abc import Iterator

import pytest

from tests.support import stack_plan
from tools.emulator.gateway import Gateway
from tools.emulator.model import read_model
from tools.emulator.server import EmulatorServer
from tools.scenarios import SCENARIOS, Scenario, Skip, Target
from tools.scenarios.target import emulator_target

_SERVERS: dict[str, EmulatorServer] = {}


def emulator(stack: str) -> EmulatorServer:
    if stack not in _SERVERS:
        plan = stack_plan(stack)
        _SERVERS[stack] = EmulatorServer(Gateway(read_model(plan), plan)).start()
    return _SERVERS[stack]


def stop_all() -> None:
    """Stops every emulator; runs once when the test process ends, so all modules share one per stack."""
    for server in _SERVERS.values():
        server.stop()
    _SERVERS.clear()


atexit.register(stop_all)


def fresh_target(stack: str) -> Iterator[Target]:
    server = emulator(stack)
    target = emulator_target(stack, server)
    assert target.control is not None
    target.control.reset()
    for account in target.accounts:
        target.control.backend(account, "ok")
    yield target


def params(stack: str) -> list[object]:
    """Every scenario for the stack; a known issue is a strict xfail naming it."""
    result: list[object] = []
    for name, scenario in sorted(SCENARIOS.items()):
        if scenario.stacks is not None and stack not in scenario.stacks:
            continue
        marks = [pytest.mark.xfail(strict=True, reason=scenario.known_issue)] if scenario.known_issue else []
        result.append(pytest.param(scenario, id=name, marks=marks))
    return result


def run(scenario: Scenario, target: Target) -> None:
    try:
        scenario.run(target)
    except Skip as skip:
        pytest.skip(str(skip))
