"""The offline plan is a function of the stack file: every check reads it, so it must not vary between runs."""

from __future__ import annotations

import json
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor

import pulumi
import pytest

from tools.azure_mocks import AzureMocks
from tools.harness import run_stack
from tools.plan import plan_document
from tools.violations import collect

RUNS = 10


def _random_string(mocks: AzureMocks) -> dict:
    args = pulumi.runtime.MockResourceArgs(
        typ="random:index/randomString:RandomString", name="suffix", inputs={"length": 6}, provider="",
        resource_id="", custom=True,
    )
    return mocks.new_resource(args)[1]


def test_a_registration_never_inherits_the_secret_outputs_of_another_running_at_the_same_time() -> None:
    mocks = AzureMocks("prod")
    # The RandomPassword's registration asks for `result` to be secret on this thread...
    mocks.registering(["result"])
    states: list[dict] = []
    # ...while the suffix RandomString registers on another: its result must stay plain.
    thread = threading.Thread(target=lambda: states.append(_random_string(mocks)))
    thread.start()
    thread.join()
    assert isinstance(states[0]["result"], str)


def _plan_text(stack: str) -> str:
    recording = run_stack(stack)
    return json.dumps(plan_document(recording, collect(recording)), sort_keys=True)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_repeated_plans_of_a_stack_are_identical(stack: str) -> None:
    # Fresh interpreters, two at a time: each run starts from nothing, as `python -m tools.plan` does.
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn")) as pool:
        documents = set(pool.map(_plan_text, [stack] * RUNS))
    assert len(documents) == 1, f"{len(documents)} different plan documents in {RUNS} runs of {stack}"
