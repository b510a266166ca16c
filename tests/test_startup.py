"""Fast start: ``capacity --version`` and ``--help`` load no pandas, numpy, pydantic or solver.

Structural, not timed: a fresh interpreter runs the command and reports which modules it loaded
(the timing is in ``benchmarks/startup.py``).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("pandas", "numpy", "pydantic", "pydantic_core", "pulp", "highspy", "matplotlib",
         "openpyxl", "capacity.scenarios", "capacity.schemas", "capacity.results")
"""Modules (and their submodules) that a start-up command must not load."""

_PROBE = """
import contextlib, io, json, sys
from capacity.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    code = main(sys.argv[1:])
sys.stderr.write(json.dumps({"code": code, "out": out.getvalue(), "modules": sorted(sys.modules)}))
"""


def _loaded(*args: str) -> dict:
    res = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True,
                         check=True)
    return json.loads(res.stderr)


def _heavy(modules: list[str]) -> list[str]:
    return [m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY)]


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["--version", "--help"]])
def test_startup_commands_load_nothing_heavy(args):
    got = _loaded(*args)
    assert got["code"] == 0
    assert _heavy(got["modules"]) == []
    assert "typer" in got["modules"]  # the probe did run the CLI


def test_version_fast_path_matches_the_typer_option():
    from capacity._version import __version__

    assert _loaded("--version")["out"] == f"capacity {__version__}\n"
    assert _loaded("--version", "--help")["out"] == f"capacity {__version__}\n"  # eager option


def test_console_script_under_importtime():
    """The same check through ``python -X importtime -m capacity.cli --version``."""
    res = subprocess.run([sys.executable, "-X", "importtime", "-m", "capacity.cli", "--version"],
                         capture_output=True, text=True, check=True)
    assert res.stdout.startswith("capacity ")
    imported = [line.rsplit("|", 1)[-1].strip() for line in res.stderr.splitlines()
                if line.startswith("import time:") and "|" in line]
    assert "typer" in imported
    assert _heavy(imported) == []


def test_package_api_is_lazy_and_clean():
    probe = ("import json, capacity; d = dir(capacity); import capacity.comparison; "
             "print(json.dumps({'dir': d, 'all': capacity.__all__, "
             "'compare_is_function': callable(capacity.compare)}))")
    res = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True)
    got = json.loads(res.stdout)
    assert got["dir"] == sorted(got["all"])
    assert not {"Any", "TYPE_CHECKING", "annotations"} & set(got["dir"])
    assert got["compare_is_function"]  # loading the submodule does not replace the function
    import capacity

    for name in capacity.__all__:
        assert getattr(capacity, name) is not None
