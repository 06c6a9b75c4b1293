"""Fixtures: each stack's program run once under the mock engine, and its raw configuration."""

from __future__ import annotations

import pytest

from tests.support import raw_config, stack_recording
from tools.csharp.compiler import INSTALL_HINT, mcs_available
from tools.harness import Recording

STACKS = ("dev", "prod")


def pytest_sessionstart(session: pytest.Session) -> None:
    """The policy lint's compile step is part of what the suite proves: without Mono the suite fails here,
    instead of tests passing on the tree-sitter fallback or being skipped."""
    if not mcs_available():
        pytest.exit(
            f"the C# compiler the policy lint needs is missing: {INSTALL_HINT}; "
            "`python3 -m tools.bootstrap` installs it where apt-get can run",
            returncode=1,
        )


@pytest.fixture(scope="session")
def dev() -> Recording:
    return stack_recording("dev")


@pytest.fixture(scope="session")
def prod() -> Recording:
    return stack_recording("prod")


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
