"""Fixtures: each stack's program run once under the mock engine, and its raw configuration."""

from __future__ import annotations

import pytest

from tests.support import raw_config
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


@pytest.fixture(scope="session")
def dev_config() -> dict:
    """dev's configuration as data; change it only through tests.support.with_value (which copies)."""
    return raw_config("dev")


@pytest.fixture(scope="session")
def prod_config() -> dict:
    """prod's configuration as data; change it only through tests.support.with_value (which copies)."""
    return raw_config("prod")
