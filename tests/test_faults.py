"""Interrupted and concurrent runs into one ``--out`` (issue 17, item 2).

Real processes: ``capacity compare history embargo-2024 --out X`` in a subprocess, killed with
SIGKILL at seeded random points, or stopped with SIGSTOP while it holds the destination. Times
only decide when to send a signal; every assertion is about files and exit codes.

After every kill the destination is absent or complete (``manifest.json`` is there and lists
every other file with its size and hash), and the next run leaves no debris beside it.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX signals")

SCENARIOS = ["history", "embargo-2024"]
SEED = 20240917
"""Seed of the kill points."""

HANG_GUARD_S = 300.0
"""A run that takes longer than this is stuck (a guard against hanging, not a timing check)."""


def _command(out: Path, *extra: str, scenarios: list[str] = SCENARIOS) -> list[str]:
    return [sys.executable, "-m", "capacity.cli", "compare", *scenarios, "--out", str(out),
            "--format", "json", *extra]


def _start(out: Path, *extra: str, **kw) -> subprocess.Popen:
    return subprocess.Popen(_command(out, *extra, **kw), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _run(out: Path, *extra: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(_command(out, *extra, **kw), capture_output=True, text=True,
                          timeout=HANG_GUARD_S, check=False)


def _wait_for(predicate, what: str) -> None:
    deadline = time.monotonic() + HANG_GUARD_S
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"stuck waiting for {what}")
        time.sleep(0.01)


def _hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _state(out: Path, expected: set[str]) -> str:
    """``absent`` or ``complete``; fails on anything in between."""
    if not out.exists():
        return "absent"
    present = {p.name for p in out.iterdir()}
    assert "manifest.json" in present, f"{out} exists without a manifest: {sorted(present)}"
    listed = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["files"]
    assert present == {*listed, "manifest.json"}, "manifest and folder disagree"
    for name, meta in listed.items():
        data = (out / name).read_bytes()
        assert meta == {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}, name
    assert present == expected, "a complete folder with other files than a full run writes"
    return "complete"


def _debris(parent: Path, out: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p != out)


def _only_own_debris(debris: list[str], pid: int) -> bool:
    """Whether everything left beside X is the killed run's own (earlier runs' was cleaned)."""
    return all(name == ".X.lock" or name.startswith(f".X.{pid}.") for name in debris)


def _kill_at(proc: subprocess.Popen, delay_s: float) -> bool:
    """SIGKILL ``proc`` after ``delay_s`` unless it ended first; True when it was killed."""
    try:
        proc.wait(timeout=delay_s)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.communicate()  # reap it: a zombie would still count as a live process
        return True
    proc.communicate()
    return False


def test_killed_runs_leave_the_destination_absent_or_complete(tmp_path):
    parent = tmp_path / "runs"
    parent.mkdir()
    out = parent / "X"
    rng = random.Random(SEED)

    # a reference run: what a complete folder holds, and how long a run takes
    t0 = time.monotonic()
    ref = _run(out)
    run_s = time.monotonic() - t0
    assert ref.returncode == 0, ref.stderr
    expected = {p.name for p in out.iterdir()}
    reference = _hashes(out)
    assert _debris(parent, out) == []
    shutil.rmtree(out)

    log = []
    # 1) three runs into a fresh X, killed at stratified random points over a run's length
    for k in range(3):
        delay = run_s * (0.1 + (k + rng.random()) / 3)
        proc = _start(out)
        killed = _kill_at(proc, delay)
        state = _state(out, expected)
        log.append(("fresh", round(delay, 2), killed, state, _debris(parent, out)))
        assert _only_own_debris(log[-1][-1], proc.pid), log
        if state == "complete":
            shutil.rmtree(out)  # start the next one from an absent X again
    # 2) three --overwrite runs onto a complete X, killed while they write: a random delay
    #    after their staging folder appears (moving the old X aside and the new one in)
    assert _run(out, "--overwrite").returncode == 0
    for _ in range(3):
        proc = _start(out, "--overwrite")
        _wait_for(lambda p=proc: p.poll() is not None or any(
            e.name.startswith(f".X.{p.pid}.") for e in os.scandir(parent)), "a staging folder")
        delay = rng.uniform(0.0, 0.5 * run_s)
        killed = _kill_at(proc, delay)
        state = _state(out, expected)
        log.append(("overwrite", round(delay, 2), killed, state, _debris(parent, out)))
        assert _only_own_debris(log[-1][-1], proc.pid), log

    assert sum(entry[2] for entry in log) >= 4, log  # most runs were killed, not finished
    # the next run cleans up after all of them and writes the same bytes as the reference
    final = _run(out, "--overwrite")
    assert final.returncode == 0, final.stderr
    assert _debris(parent, out) == [], log
    assert _hashes(out).keys() == reference.keys()
    same = [n for n in reference if n != "manifest.json"]
    assert {n: _hashes(out)[n] for n in same} == {n: reference[n] for n in same}
    print("\nfault runs (kind, kill after [s], killed, destination, debris):")
    for entry in log:
        print(" ", entry)


def test_a_second_writer_fails_at_once_and_never_replaces_the_first(tmp_path):
    out = tmp_path / "X"
    lock = tmp_path / ".X.lock"
    first = _start(out)
    _wait_for(lambda: first.poll() is not None or (
        lock.exists() and lock.read_text() == f"capacity {first.pid}\n"), "the first run's lock")
    first.send_signal(signal.SIGSTOP)  # it holds X and stays mid-run while the second tries
    try:
        assert first.poll() is None, "the first run ended before it could be paused"
        for extra in ([], ["--overwrite"]):
            second = _run(out, *extra, scenarios=["history", "no-2023-update"])
            assert second.returncode == 2
            assert second.stdout == ""
            assert second.stderr.count("\n") == 1 and "Traceback" not in second.stderr
            assert second.stderr.startswith("capacity: --out: ")
            assert f"being written by another capacity run (pid {first.pid})" in second.stderr
    finally:
        first.send_signal(signal.SIGCONT)
    stdout, stderr = first.communicate(timeout=HANG_GUARD_S)
    assert first.returncode == 0, stderr
    assert (out / "compare.json").read_text(encoding="utf-8") == stdout
    written = _hashes(out)
    # a later run without --overwrite is refused too, and X stays the first run's
    third = _run(out, scenarios=["history", "no-2023-update"])
    assert third.returncode == 2 and third.stderr.count("\n") == 1
    assert "not empty" in third.stderr
    assert _hashes(out) == written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["X"]
