"""docs/stacks/<stack>.md: each stack's accounts -> pools -> consumers, generated from its plan and up to date."""

from __future__ import annotations

import pytest

from tools.diagram import DOCS_DIR, document, main
from tools.harness import Recording
from tools.plan import plan_document


def test_the_committed_diagram_of_each_stack_is_up_to_date(stack: Recording) -> None:
    committed = (DOCS_DIR / f"{stack.stack}.md").read_text()
    assert committed == document(plan_document(stack, [])), f"run: python -m tools.diagram {stack.stack}"


def test_the_diagram_shows_spill_over_from_ptu_to_pay_as_you_go(prod: Recording) -> None:
    text = document(plan_document(prod, []))
    assert 'account_ptu_1 -- "priority 1, weight 100" --> pool_pool_gpt_5_4' in text
    assert 'account_paygo_1 -- "priority 2, weight 70" --> pool_pool_gpt_5_4' in text
    assert "gpt-5.4: DataZoneProvisionedManaged, 50 PTU" in text


def test_the_diagram_links_consumers_to_their_deployments_pools_with_their_limits(dev: Recording) -> None:
    text = document(plan_document(dev, []))
    assert "pool_pool_text_embedding_3_small --> consumer_team_beta" in text
    assert "pool_pool_gpt_5_4 --> consumer_team_beta" not in text
    assert "team-gamma<br/>2,000 tokens/min<br/>quota 200,000 Daily" in text
    assert "simulated PTU, swedencentral" in text


def test_check_fails_on_a_stale_diagram(tmp_path: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]) -> None:
    from pathlib import Path

    out = Path(str(tmp_path))
    (out / "dev.md").write_text("stale\n")
    assert main(["dev", "--out", str(out), "--check"]) == 1
    assert "not up to date" in capsys.readouterr().err
