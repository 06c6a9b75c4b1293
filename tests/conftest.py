"""Fixtures: each stack's program run once under the mock engine, and its raw configuration.

Also, run once per session, what the tests of one area share across their modules: the chargeback statement,
and dev with content safety on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.support import raw_config, stack_recording
from tools.csharp.compiler import INSTALL_HINT, mcs_available
from tools.harness import Recording

if TYPE_CHECKING:
    from tests.chargeback_support import Result

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


@pytest.fixture(scope="session")
def result(tmp_path_factory: pytest.TempPathFactory) -> Result:
    """The chargeback command run over the test capture (tests/chargeback_support.py), for the chargeback tests."""
    from tests.chargeback_support import run_capture  # imported here: only the chargeback tests pay for it

    return run_capture(tmp_path_factory)


@pytest.fixture(scope="session")
def eight_levels() -> Recording:
    """dev with content safety on, EightSeverityLevels (tests/content_safety_support.py), for its tests."""
    from tests.content_safety_support import eight_levels_recording

    return eight_levels_recording()
