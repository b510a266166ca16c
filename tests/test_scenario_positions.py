"""Issue 29/30: a bad key in a scenario file is reported at its own line.

Errors name ``file:line``. The line comes from a syntax tree of the file
(:mod:`capacity.scenarios.positions`), not from how lines start, so the same key name under two
tables, a key inside a dotted key or an inline table, and a field of the n-th table of an array
of tables each get the line they are written on. Every expected line below is counted by hand in
the text of the test.
"""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest

from capacity.errors import InputError
from capacity.scenarios import load_scenario, set_subject, shipped_data_dir
from capacity.scenarios.positions import key_line, key_lines


def _refused(tmp_path: Path, text: str) -> str:
    path = tmp_path / "case.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_scenario(path)
    return info.value.one_line().replace(str(path), "case.toml")


# --------------------------------------------------------------------------------------------
# Through load_scenario: the message names the key's own line
# --------------------------------------------------------------------------------------------


def test_same_key_under_two_tables_is_reported_at_its_own_line(tmp_path):
    # H20 is valid under the first table (a price, line 6) and invalid under the second (a
    # negative lead time, line 8); the error is the second one's, at line 8
    text = """description = "H20 under two tables"
extends = "history"

[set]
[set.planner.price_usd]
H20 = 100
[set.planner.lead_time_quarters]
H20 = -1
"""
    assert _refused(tmp_path, text) == ("case.toml:8: planner.lead_time_quarters.H20: Input "
                                        "should be greater than or equal to 0, got -1")


def test_key_in_a_dotted_key_under_a_table_header(tmp_path):
    # the table header holds part of the key (set.planner), the dotted key the rest
    text = """description = "dotted keys"
extends = "history"

[set.planner]
price_usd.H20 = 100
lead_time_quarters.H20 = -1
"""
    assert _refused(tmp_path, text).startswith(
        "case.toml:6: planner.lead_time_quarters.H20: Input should be greater than or equal to 0")


def test_key_in_an_inline_table(tmp_path):
    text = """description = "inline tables"
extends = "history"

[set]
planner = { price_usd = { H20 = 100 } }
"fleet.efficiency" = { A800 = 0.9 }
demand = { leasing = { share_of_fleet = 0.1 } }
finance = { shares_m = 0.5 }
"""
    assert _refused(tmp_path, text).startswith(
        "case.toml:8: finance.shares_m: Input should be greater than or equal to 1")


_RULE = """id = "{id}"
title = "test rule {id}"
kind = "supply"
announced = 2024-01-01
effective = 2024-01-01
source = "test"
supply_chips = ["Ascend910B"]
supply_factor = {factor}
"""


def test_field_of_the_second_table_of_an_array_of_tables(tmp_path):
    # both tables write supply_factor; only the second one's (line 25) is out of range
    text = ('description = "arrays of tables"\nextends = "history"\n\n[set]\n'
            '"controls.rules+" = ["x-a", "x-b"]\n\n'
            "[[set.controls.extra_rules]]\n" + _RULE.format(id="x-a", factor=0.5) + "\n"
            "[[set.controls.extra_rules]]\n" + _RULE.format(id="x-b", factor=-0.5))
    assert text.splitlines()[24] == "supply_factor = -0.5"
    assert _refused(tmp_path, text).startswith(
        "case.toml:25: controls.extra_rules.1.supply_factor: Input should be greater than or "
        "equal to 0")


def test_same_key_in_two_named_overrides_is_reported_at_the_second(tmp_path):
    text = """description = "two overrides, one key"
extends = "history"
overrides = ["cheap", "dear"]

[override.cheap]
planner.pue = 1.1

[override.dear]
planner.pue = 1.6
"""
    assert _refused(tmp_path, text) == ("case.toml:9: planner.pue: set by both overrides "
                                        "'cheap' and 'dear' in one scenario")


def test_a_library_override_is_reported_in_overrides_toml(tmp_path):
    folder = tmp_path / "subject"
    shutil.copytree(shipped_data_dir(), folder)
    (folder / "overrides.toml").write_text('[dear-power]\nplanner.pue = 1.4\n\n'
                                           '[bad-power]\n"planner.pue" = -2\n', encoding="utf-8")
    scenario = tmp_path / "case.toml"
    scenario.write_text('description = "a library override"\nextends = "history"\n'
                        'overrides = ["bad-power"]\n', encoding="utf-8")
    set_subject(folder)
    try:
        with pytest.raises(InputError) as info:
            load_scenario(scenario)
    finally:
        set_subject(None)
    assert info.value.one_line().startswith(
        f"{folder.resolve() / 'overrides.toml'}:5: planner.pue: Input should be greater than or "
        "equal to 1")


# --------------------------------------------------------------------------------------------
# The position map itself
# --------------------------------------------------------------------------------------------

_DOC = """top = 1                       # 1
[a]                           # 2
x = 1                         # 3
b.c.d = 2                     # 4
"q.r" = { s = 3, t = [4, { u = 5 }] }   # 5
[[arr]]                       # 6
k = 1                         # 7
[arr.sub]                     # 8
k = 2                         # 9
[[arr]]                       # 10
k = 3                         # 11
[[arr.inner]]                 # 12
k = 4                         # 13
list = [                      # 14
  1,                          # 15
  # a comment is not an item  # 16
  [2, 3],                     # 17
]                             # 18
'e' . "f\\u0041" = 6          # 19
[a.h.g]                       # 20
"""


def test_key_lines_resolve_tables_dotted_keys_inline_tables_and_arrays():
    tomllib.loads(_DOC)  # valid TOML, as every file asked about is
    lines = key_lines(_DOC)
    expect = {
        "top": 1, "a": 2, "a.x": 3, "a.b": 4, "a.b.c": 4, "a.b.c.d": 4,
        "a.q.r": 5, "a.q.r.s": 5, "a.q.r.t": 5, "a.q.r.t.0": 5, "a.q.r.t.1.u": 5,
        "arr": 6, "arr.0": 6, "arr.0.k": 7, "arr.0.sub": 8, "arr.0.sub.k": 9,
        "arr.1": 10, "arr.1.k": 11, "arr.1.inner.0": 12, "arr.1.inner.0.k": 13,
        "arr.1.inner.0.list": 14, "arr.1.inner.0.list.0": 15, "arr.1.inner.0.list.1": 17,
        "arr.1.inner.0.list.1.1": 17, "arr.1.inner.0.e.fA": 19, "a.h": 20, "a.h.g": 20,
    }
    assert {k: lines.get(k) for k in expect} == expect
    assert "arr.1.inner.0.list.2" not in lines  # the comment is not an item
    assert "arr.2" not in lines


def test_key_line_takes_the_deepest_part_written_and_append_keys(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('[set]\n"controls.rules+" = ["x"]\nplanner.pue = 1.2\n\n'
                    "[[set.fleet.pipeline]]\nchip = \"H20\"\n", encoding="utf-8")
    assert key_line(path, "set", "controls.rules") == 2          # written as rules+
    assert key_line(path, "set", "planner.pue") == 3
    assert key_line(path, "set", "fleet.pipeline", "0.chip") == 6
    assert key_line(path, "set", "fleet.pipeline", "0.units") == 5  # not written: the table
    assert key_line(path, "set", "fleet.pipeline", "1.chip") == 5   # no second table: the key
    assert key_line(path, "set", "planner.lot_units") is None
    assert key_line(path, "", "planner.pue") is None                # not at the top level
    assert key_line(tmp_path / "missing.toml", "set", "planner.pue") is None
