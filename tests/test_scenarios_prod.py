"""The scenario suite (tools/scenarios) against the emulated prod stack: its plan's policies, run with real C#."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.emulator_support import fresh_target, params, run
from tools.scenarios import Scenario, Target


@pytest.fixture
def target() -> Iterator[Target]:
    yield from fresh_target("prod")


@pytest.mark.parametrize("scenario", params("prod"))
def test_scenario(scenario: Scenario, target: Target) -> None:
    run(scenario, target)
