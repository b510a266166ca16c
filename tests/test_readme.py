"""The README's results table is the latest vintage's (issue 28, item 7).

``docs/build_readme.py`` writes the block between its markers from ``capacity compare`` of the
main job's scenarios; this test fails when README.md is stale (run the script), when the block
does not name the latest vintage's date, or when its figures are not what ``capacity value``
prints for the baseline.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from cli_helpers import cli_json

from capacity.scenarios import vintage_files

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


@pytest.fixture(scope="module")
def build():
    spec = importlib.util.spec_from_file_location("build_readme", ROOT / "docs" / "build_readme.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def generated(build):
    report, as_of = build.results()
    return build.block(report, as_of)


def _block(text: str, build) -> str:
    return text[text.index(build.BEGIN):text.index(build.END) + len(build.END)]


def test_readme_results_are_current(build, generated):
    text = README.read_text(encoding="utf-8")
    assert _block(text, build) == generated, "README.md is stale: run python docs/build_readme.py"


def test_readme_names_the_latest_vintage(build, generated):
    assert f"**{max(vintage_files()).isoformat()}**" in generated  # the newest vintage file
    rows = [line for line in generated.split("\n") if line.startswith("| ")]
    assert [r.split(" | ")[0].lstrip("| ") for r in rows[1:]] == list(build.SCENARIOS)


def test_readme_first_lines_are_the_two_commands():
    lines = README.read_text(encoding="utf-8").split("\n")
    assert lines[3].startswith("python3 -m venv .venv && .venv/bin/pip install -q . && "
                               ".venv/bin/capacity compare baseline ")
    assert lines[3].endswith("entity-list-buyer --out out/baseline")
    assert lines[4] == ".venv/bin/pip install -q '.[test]' && .venv/bin/pytest"


def test_readme_baseline_row_is_what_value_prints(generated):
    """The baseline's target prices as ``capacity value`` reports them, to the 3 places (HKD)
    the table shows, and its NPV as ``capacity plan``'s objective to the RMB m."""
    rows = [line.strip("| ").split(" | ") for line in generated.split("\n")
            if line.startswith("| ")]
    head, base = rows[0], next(r for r in rows if r[0] == "baseline")
    cell = dict(zip(head, base, strict=True))
    value = cli_json("value")
    assert cell["target_price [HKD]"] == f"{value['target_price']:.3f}"
    assert cell["target_price_dcf [HKD]"] == f"{value['target_price_dcf']:.3f}"
    plan = cli_json("plan")
    assert cell["npv [RMBm]"] == f"{plan['objective_m']:,.0f}"
    assert cell["total_capex [RMBm]"] == f"{plan['total_capex_m']:,.0f}"
