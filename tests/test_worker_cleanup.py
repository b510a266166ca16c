"""A killed ``capacity stress`` leaves no worker behind (local processes and Dask).

The run is started in its own session, its process tree is read from ``/proc`` once the workers
are up, the parent is SIGKILLed, and every process of that tree must be gone within
``GRACE_S`` (the workers die with their parent: PR_SET_PDEATHSIG plus a parent watch).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="reads the process tree from /proc")

GRACE_S = 10.0
"""How long the workers may outlive their killed parent. [s]"""

START_TIMEOUT_S = 60.0
"""How long to wait for the workers to start. [s]"""

CAPACITY = str(Path(sys.executable).with_name("capacity"))


def _tree(root: int) -> set[int]:
    """Every live descendant of ``root``."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            parents.setdefault(int(fields[1]), []).append(int(entry))
    out: set[int] = set()
    frontier = [root]
    while frontier:
        kids = [k for p in frontier for k in parents.get(p, []) if k not in out]
        out.update(kids)
        frontier = kids
    return out


def _alive(pids: set[int]) -> set[int]:
    out = set()
    for pid in pids:
        try:
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                out.add(pid)
        except OSError:
            pass
    return out


@pytest.mark.parametrize("executor,expect", [("processes", 2), ("dask", 2)])
def test_killed_stress_leaves_no_worker(executor, expect):
    if executor == "dask":
        pytest.importorskip("distributed")
    proc = subprocess.Popen(
        [CAPACITY, "stress", "--samples", "20000", "--workers", "2", "--executor", executor,
         "--format", "json"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        kids: set[int] = set()
        while time.monotonic() < deadline and proc.poll() is None:
            kids = _tree(proc.pid)
            if len(kids) >= expect:
                time.sleep(1.0)  # let the workers take their first batches
                kids |= _tree(proc.pid)
                break
            time.sleep(0.2)
        assert proc.poll() is None, "the run ended before its workers could be seen"
        assert len(kids) >= expect, f"only {len(kids)} worker processes started"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + GRACE_S
        while _alive(kids) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _alive(kids), f"{len(_alive(kids))} of {len(kids)} processes outlived " \
            "their killed parent"
    finally:
        if proc.poll() is None:
            proc.kill()
        for pid in _alive(kids if "kids" in locals() else set()):
            os.kill(pid, signal.SIGKILL)
