"""``plugins.settings.router``: validation with the key's path."""

from __future__ import annotations

import pytest
from dynamic_orchestrator_router.settings import RouterSettingsError, parse_settings


def test_valid_settings() -> None:
    settings = parse_settings(
        {"file": "r.npz", "mode": "threshold", "target": 0.7, "models": {"a": "gpt-4o", "b": None}}
    )
    assert settings.mode == "threshold" and settings.models == {"a": "gpt-4o", "b": None}
    assert parse_settings(None).file is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"mode": "cheapest"}, "plugins.settings.router.mode: Input should be 'utility' or"),
        ({"target": 1.5}, "plugins.settings.router.target: Input should be less than or equal"),
        ({"willingness_to_pay": 0}, "plugins.settings.router.willingness_to_pay: Input should be"),
        ({"fiel": "x"}, "plugins.settings.router.fiel: unknown key"),
        ({"models": {"a": 3}}, "plugins.settings.router.models.a: Input should be"),
        ("router.npz", "plugins.settings.router: expected a mapping, got str"),
    ],
)
def test_errors_name_the_key(data: object, message: str) -> None:
    with pytest.raises(RouterSettingsError) as caught:
        parse_settings(data)
    assert message in str(caught.value)
