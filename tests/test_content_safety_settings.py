"""ContentSafety, settings: off by default with medium thresholds, on in prod; thresholds that the output type does
not allow, unknown categories and output types, and a check of nothing are refused, naming the key and the value.
"""

from __future__ import annotations

import pytest

from components.settings import PROJECT
from tests.support import DELETE, only, parse, problems, raw_config, with_value


def test_content_safety_is_off_by_default_with_medium_thresholds(prod_config: dict) -> None:
    settings = parse(with_value(prod_config, "contentSafety", DELETE)).content_safety
    assert settings.enabled is False
    assert (settings.shield_prompt, settings.output_type, settings.location) == (True, "FourSeverityLevels", None)
    assert settings.categories.checked() == [("Hate", 4), ("SelfHarm", 4), ("Sexual", 4), ("Violence", 4)]


def test_dev_is_off_and_prod_is_on() -> None:
    assert parse(raw_config("dev")).content_safety.enabled is False
    assert parse(raw_config("prod")).content_safety.enabled is True


@pytest.mark.parametrize("threshold", [1, 3, 5, 7])
def test_four_severity_levels_accept_only_even_thresholds(prod_config: dict, threshold: int) -> None:
    line = only(problems(with_value(prod_config, "contentSafety.categories.Hate", threshold)))
    assert line == (
        f"{PROJECT}:contentSafety.categories.Hate: {threshold}: "
        "with outputType FourSeverityLevels must be one of 2, 4, 6"
    )


def test_eight_severity_levels_accept_odd_thresholds(prod_config: dict) -> None:
    config = with_value(prod_config, "contentSafety.outputType", "EightSeverityLevels")
    assert problems(with_value(config, "contentSafety.categories.SelfHarm", 3)) == []


def test_threshold_zero_is_rejected_because_it_blocks_every_request(prod_config: dict) -> None:
    line = only(problems(with_value(prod_config, "contentSafety.categories.Violence", 0)))
    assert line.startswith(f"{PROJECT}:contentSafety.categories.Violence: 0: ")
    assert "block every request" in line and "null" in line


def test_threshold_above_seven_is_out_of_range(prod_config: dict) -> None:
    line = only(problems(with_value(prod_config, "contentSafety.categories.Sexual", 8)))
    assert line.startswith(f"{PROJECT}:contentSafety.categories.Sexual: 8: ")
    assert "less than or equal to 7" in line


def test_unknown_output_type_lists_the_allowed_ones(prod_config: dict) -> None:
    line = only(problems(with_value(prod_config, "contentSafety.outputType", "SixSeverityLevels")))
    assert "'FourSeverityLevels' or 'EightSeverityLevels'" in line


def test_unknown_category_is_named_with_the_nearest_one(prod_config: dict) -> None:
    line = only(problems(with_value(prod_config, "contentSafety.categories.Violent", 4)))
    assert line.startswith(f"{PROJECT}:contentSafety.categories.Violent: unknown key")
    assert "did you mean 'Violence'" in line


def test_enabled_content_safety_must_check_something(prod_config: dict) -> None:
    config = with_value(prod_config, "contentSafety.shieldPrompt", False)
    config = with_value(
        config, "contentSafety.categories", {"Hate": None, "SelfHarm": None, "Sexual": None, "Violence": None}
    )
    line = only(problems(config))
    assert line.startswith(f"{PROJECT}:contentSafety.categories: no category checked: ")


def test_location_must_be_a_region_name(prod_config: dict) -> None:
    line = only(problems(with_value(prod_config, "contentSafety.location", "Sweden Central")))
    assert line.startswith(f"{PROJECT}:contentSafety.location: 'Sweden Central': ")


def test_thresholds_of_disabled_content_safety_are_not_checked_against_the_output_type(prod_config: dict) -> None:
    config = with_value(prod_config, "contentSafety.enabled", False)
    assert problems(with_value(config, "contentSafety.categories.Hate", 3)) == []
