"""Shared fixtures: the shipped scenarios are loaded once per session."""

from __future__ import annotations

import json

import pytest

from capacity.cli import main


@pytest.fixture(scope="session")
def history():
    from capacity.scenarios import load_scenario

    return load_scenario("history")


@pytest.fixture(scope="session")
def history_plan_data(history):
    """The history scenario's LP numbers (calibration, controls, demand gathered once)."""
    from capacity.planner import plan_data

    return plan_data(history)


@pytest.fixture
def run_cli(capsys):
    """Run the CLI in-process: returns (exit code, stdout, stderr)."""

    def _run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out = capsys.readouterr()
        return code, out.out, out.err

    return _run


@pytest.fixture
def run_json(run_cli):
    """Run a command with --format json and parse stdout; asserts exit code 0."""

    def _run(*args: str) -> dict:
        code, out, err = run_cli(*args, "--format", "json")
        assert code == 0, err
        return json.loads(out)

    return _run
