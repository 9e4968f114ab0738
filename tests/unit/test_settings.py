"""Settings come from CASEWISE_* variables; a bad value names its variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.settings import Settings, SettingsError, load_settings


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(f"CASEWISE_{name.upper()}", raising=False)
    settings = load_settings()
    assert settings.rules_dir == Path("rules")
    assert settings.knowledge_dir == Path("knowledge")
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.max_batch == 1000
    assert settings.max_body_bytes == 1024 * 1024
    assert settings.max_firings == 1000
    assert settings.log_level == "INFO"


def test_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASEWISE_RULES_DIR", "/srv/rules")
    monkeypatch.setenv("CASEWISE_PORT", "9000")
    monkeypatch.setenv("CASEWISE_LOG_LEVEL", "debug")
    settings = load_settings()
    assert settings.rules_dir == Path("/srv/rules")
    assert settings.port == 9000
    assert settings.log_level == "DEBUG"


def test_overrides_win_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASEWISE_PORT", "9000")
    assert load_settings(port=9001).port == 9001


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CASEWISE_PORT", "eighty"),
        ("CASEWISE_PORT", "70000"),
        ("CASEWISE_MAX_BATCH", "0"),
        ("CASEWISE_MAX_BODY_BYTES", "-1"),
        ("CASEWISE_LOG_LEVEL", "chatty"),
    ],
)
def test_bad_value_fails_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert variable in str(caught.value)
    assert repr(value).lower() in str(caught.value).lower()
