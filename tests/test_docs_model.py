"""docs/model.md's constraint-family table is the registry's (regenerate with
``python docs/build_model_md.py``)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from capacity.planner import registry

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _builder():
    spec = importlib.util.spec_from_file_location("build_model_md", DOCS / "build_model_md.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_model_md_family_table_is_generated_from_the_registry():
    build = _builder()
    text = (DOCS / "model.md").read_text(encoding="utf-8")
    assert build.render(text) == text, "docs/model.md is stale: run python docs/build_model_md.py"


def test_render_refuses_a_page_without_markers():
    with pytest.raises(ValueError, match="markers"):
        _builder().render("# no table here\n")


def test_the_table_has_a_row_per_family_and_the_limits_are_the_four():
    table = registry.family_table().splitlines()
    assert len(table) == 2 + len(registry.FAMILIES)
    assert set(registry.LIMIT_FAMILIES) == {"access", "budget", "power", "rental"}
    assert registry.IDENTITY_FAMILIES == ("fleet_balance",)


def test_every_family_built_is_registered_with_its_unit(history_plan_data):
    from capacity.planner.model import build_model

    model = build_model(history_plan_data, "npv")
    built = {f.name: f for f in model.rows}
    assert set(built) <= set(registry.BY_NAME)
    for name, fam in built.items():
        reg = registry.BY_NAME[name]
        assert fam.unit == reg.unit
        assert set(fam.labels["constraint"]) <= set(reg.constraint_names)
        assert set(reg.index) <= set(fam.labels.columns)
