"""The README's outputs table lists exactly the outputs the stacks export."""

from __future__ import annotations

import re

from tools.harness import Recording
from tools.stack_config import PROJECT_DIR


def _documented() -> set[str]:
    text = (PROJECT_DIR / "README.md").read_text()
    table = text.split("| output | secret | meaning |", 1)[1].split("\n\n", 1)[0]
    return set(re.findall(r"^\| `([^`]+)` \|", table, re.MULTILINE))


def test_every_output_of_both_stacks_is_in_the_readme_table_and_nothing_else(dev: Recording, prod: Recording) -> None:
    exported = {re.sub(r"^consumerKey-.*", "consumerKey-<name>", k) for s in (dev, prod) for k in s.outputs}
    assert _documented() == exported


def test_the_readme_counts_the_components_each_stack_declares(dev: Recording, prod: Recording) -> None:
    words = {6: "six", 7: "seven", 8: "eight", 9: "nine", 10: "ten", 11: "eleven", 12: "twelve"}
    text = (PROJECT_DIR / "README.md").read_text()
    components = {s.stack: sum(1 for r in s.resources if not r.custom) for s in (dev, prod)}
    assert f"prod has all {words[components['prod']]}, dev {words[components['dev']]}" in text
