"""Clean stops (issue #29): Ctrl-C to a stress run's process group, and SIGTERM to its main
process, end it with exit 130 / 143, one line on stderr, no output folder and no worker left.

Real processes: ``capacity stress --samples 20000 --workers 2 --out DIR`` in its own session (as
a terminal runs a command), signalled once its workers are up. How fast it stops is measured by
``benchmarks/stops.py`` (never asserted here); the timeout below only keeps a hung run from
hanging the suite.
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
                                reason="reads /proc and signals process groups")

ROOT = Path(__file__).resolve().parent.parent


def _children(pid: int) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pid:
                out.append(int(d.name))
    return out


def _alive(pid: int) -> bool:
    try:
        return "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()
    except OSError:
        return False


@pytest.mark.parametrize(("sig", "group", "code"), [(signal.SIGINT, True, 130),
                                                    (signal.SIGTERM, False, 143)])
def test_a_signalled_stress_run_stops_cleanly(tmp_path, sig, group, code):
    dest = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "capacity", "stress", "--samples", "20000", "--workers", "2",
         "--out", str(dest)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        cwd=tmp_path, start_new_session=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(
            [str(Path(__import__("capacity").__file__).parent.parent),
             os.environ.get("PYTHONPATH", "")])})
    try:
        deadline = time.monotonic() + 60  # until the pool's two workers run (or it ended)
        kids: list[int] = []
        while time.monotonic() < deadline and proc.poll() is None:
            kids = [k for k in _children(proc.pid)
                    if "spawn_main" in Path(f"/proc/{k}/cmdline").read_text(errors="replace")]
            if len(kids) >= 2:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the run ended before it could be signalled"
        time.sleep(0.5)  # the workers are busy with their first batches
        (os.killpg if group else os.kill)(proc.pid, sig)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == code
    assert err.splitlines() == [f"capacity: stopped by {sig.name}"], err
    assert list(tmp_path.iterdir()) == []  # no DIR, no staging entry beside it
    time.sleep(0.2)
    assert kids and not [k for k in kids if _alive(k)]
