"""Every setting, guard and CLI command is documented (STYLE.md §7)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from wardgate.cli.main import _parser
from wardgate.guards import DEFAULT_ORDER, GUARDS
from wardgate.guards.base import GuardConfig
from wardgate.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
GUARDS_DOC = (ROOT / "docs" / "guards.md").read_text()


def _keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    out = []
    for attr, field in model.model_fields.items():
        name = field.alias or attr  # `limits.global` is spelled so in YAML (global_ in Python)
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel) and name != "static_keys":
            out += _keys(ann, f"{prefix}{name}.")
        else:
            out.append(prefix + name)
    return out


def test_every_setting_is_in_the_readme_reference():
    missing = [k for k in _keys(Settings) if k != "guards" and f"`{k}`" not in README]
    assert not missing, f"undocumented settings: {missing}"


def test_every_guard_and_its_options_are_documented():
    for name in DEFAULT_ORDER:
        assert f"### `{name}`" in GUARDS_DOC, name
        for option in GUARDS[name].Config.model_fields:
            if option not in GuardConfig.model_fields:
                assert f"`{option}`" in GUARDS_DOC and f"`guards.{name}.{option}`" in README, (name, option)


def test_every_cli_command_is_documented():
    sub = next(a for a in _parser()._actions if a.dest == "command")
    for name in sub.choices:
        assert f"`wardgate {name}" in README, name
    assert "`wardgate --version`" in README
