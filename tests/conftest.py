"""Fixtures: each stack's program run once under the mock engine, and its raw configuration."""

from __future__ import annotations

import pytest

from tools.harness import Recording, run_stack

STACKS = ("dev", "prod")


@pytest.fixture(scope="session")
def dev() -> Recording:
    return run_stack("dev")


@pytest.fixture(scope="session")
def prod() -> Recording:
    return run_stack("prod")


@pytest.fixture(params=STACKS)
def stack(request: pytest.FixtureRequest) -> Recording:
    """Runs a test once per stack."""
    return request.getfixturevalue(request.param)
