"""Server settings: one table gives each setting its flag, variable and parser."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from lamina.cli.main import build_parser
from lamina.config import OPTIONS, Settings, SettingsError


def test_every_setting_has_a_flag_or_a_variable() -> None:
    fields = {f.name for f in dataclasses.fields(Settings)}
    assert {o.field for o in OPTIONS} == fields
    assert {o.flag for o in OPTIONS if o.has_flag} >= {"--host", "--port", "--tmp-storage"}
    assert [o.env for o in OPTIONS if o.field == "public_url"] == ["LAMINA_PUBLIC_URL"]


def test_flags_then_variables_then_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for option in OPTIONS:
        monkeypatch.delenv(option.env, raising=False)
    monkeypatch.setenv("LAMINA_PORT", "9100")
    monkeypatch.setenv("LAMINA_MAX_CONNECTIONS", "64")
    monkeypatch.setenv("LAMINA_LOG_RETENTION_DAYS", "0")
    monkeypatch.setenv("LAMINA_DATA_DIR", "/srv/lamina")
    args = build_parser().parse_args(["server", "--port", "9200", "--function-api-access", "self"])
    settings = Settings.from_env(**{o.field: getattr(args, o.field, None) for o in OPTIONS})
    assert settings.port == 9200  # the flag wins
    assert settings.max_connections == 64  # the variable
    assert settings.function_api_access == "self"
    assert settings.log_retention_days is None  # 0: never expire
    assert settings.data_dir == Path("/srv/lamina")
    assert settings.tmp_storage == Settings.tmp_storage == "disk"  # the default


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("LAMINA_PORT", "abc"),
        ("LAMINA_MAX_CONNECTIONS", "0"),
        ("LAMINA_ISOLATION", "chroot"),
        ("LAMINA_LOG_RETENTION_DAYS", "2"),
        ("LAMINA_ADMISSION_WAIT", "-1"),
    ],
)
def test_a_bad_variable_is_named(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=f"^{variable}="):
        Settings.from_env()


def test_a_bad_flag_is_refused_by_the_parser() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["server", "--keep-alive-timeout", "0"])
