"""Model aliases: names app teams use for a deployment, on both APIs; bad aliases stop the program."""

from __future__ import annotations

from tests.support import only, parse, problems, with_value

KEY = "genai-gateway:routing.aliases"


def test_an_alias_maps_a_name_to_a_deployment(dev_config: dict) -> None:
    settings = parse(with_value(dev_config, "routing.aliases", {"gpt-5.4-latest": "gpt-5.4"}))
    assert settings.routing.aliases == {"gpt-5.4-latest": "gpt-5.4"}


def test_alias_to_an_unknown_deployment_names_the_alias_and_the_deployments(dev_config: dict) -> None:
    line = only(problems(with_value(dev_config, "routing.aliases", {"chat": "gpt-5"})))
    assert line.startswith(f"{KEY}.chat: 'gpt-5': unknown deployment")
    assert "gpt-5.4" in line and "text-embedding-3-small" in line


def test_alias_colliding_with_a_deployment_name_is_rejected(dev_config: dict) -> None:
    config = with_value(dev_config, "routing.aliases", {"gpt-5.4": "text-embedding-3-small"})
    line = only(problems(config))
    assert line.startswith(f"{KEY}.gpt-5.4: 'text-embedding-3-small': ")
    assert "already a deployment name" in line


def test_alias_with_characters_unsafe_in_a_path_is_rejected(dev_config: dict) -> None:
    line = only(problems(with_value(dev_config, "routing.aliases", {'chat"/x': "gpt-5.4"})))
    assert line.startswith(f"{KEY}: 'chat\"/x': ")
