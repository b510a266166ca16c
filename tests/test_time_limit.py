"""``--time-limit``: a solve stopped by it is a one-line error (exit 2), never a result."""

from __future__ import annotations

import os

import pytest

from capacity import lp
from capacity.errors import SolverError
from capacity.planner import plan


@pytest.fixture(autouse=True)
def _no_limit_after():
    yield
    lp.set_time_limit(None)


@pytest.mark.parametrize("argv", [
    ["plan", "--time-limit", "1e-9"],
    ["calibrate", "--time-limit", "1e-9"],
    ["value", "--time-limit", "1e-9"],
])
def test_a_solve_stopped_by_the_limit_is_one_line(run_cli, argv, monkeypatch):
    from capacity import inputs

    monkeypatch.setattr(inputs, "_CALIBRATION_CACHE", {})  # solve the calibration too
    code, out, err = run_cli(*argv, "--format", "json")
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "--time-limit" in lines[0] and "Traceback" not in err


def test_the_plan_lp_itself_stops_at_the_limit(history):
    plan(history)  # calibration solved and cached without a limit
    lp.set_time_limit(1e-9)
    with pytest.raises(SolverError, match=r"time limit reached.*raise --time-limit"):
        plan(history)


def test_the_limit_reaches_spawned_workers_through_the_environment():
    lp.set_time_limit(12.5)
    assert os.environ[lp.TIME_LIMIT_ENV] == "12.5"
    assert lp.effective_time_limit_s() == 12.5 and lp.effective_time_limit_s(3.0) == 3.0
    lp.set_time_limit(None)
    assert lp.TIME_LIMIT_ENV not in os.environ and lp.effective_time_limit_s() is None


@pytest.mark.parametrize("bad", ["0", "-1", "inf", "nan", "1e9"])
def test_bad_limits_are_refused(run_cli, bad):
    code, _, err = run_cli("plan", "--time-limit", bad)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "--time-limit" in err
