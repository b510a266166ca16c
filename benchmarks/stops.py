"""How fast a stress run stops on Ctrl-C (SIGINT to its process group) and on SIGTERM.

Usage::

    python benchmarks/stops.py [--samples N] [--workers W] [--at 0.5,2,5]

Starts ``capacity stress --samples N --workers W --out DIR`` in a new session (its own process
group, as a terminal runs a command), sends SIGINT to the group, or SIGTERM to the main process
alone, at each delay after the start, and reports for each: the exit code, the time from the
signal to the exit [s], the lines on stderr, whether ``DIR`` (or any staging entry beside it) is
left, and whether any child process outlived the run. The run is the one of issue #29's "Done
when"; the figures go in the notes, not into a test's assertion.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def children_of(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (Linux ``/proc``)."""
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                out.append(int(d.name))
    return out


def one(samples: int, workers: int, delay: float, sig: signal.Signals, group: bool) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        dest = Path(tmp) / "out"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        proc = subprocess.Popen(
            [sys.executable, "-m", "capacity", "stress", "--samples", str(samples),
             "--workers", str(workers), "--out", str(dest)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
            start_new_session=True, cwd=tmp)
        time.sleep(delay)
        kids = children_of(proc.pid)
        sent = time.perf_counter()
        if proc.poll() is None:
            if group:
                os.killpg(proc.pid, sig)
            else:
                os.kill(proc.pid, sig)
        try:
            _, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            _, err = proc.communicate()
        took = time.perf_counter() - sent
        time.sleep(0.2)
        alive = [k for k in kids if Path(f"/proc/{k}").exists()
                 and "zombie" not in Path(f"/proc/{k}/status").read_text().lower()]
        left = sorted(p.name for p in Path(tmp).iterdir())
        return {"signal": sig.name, "to": "group" if group else "main", "at_s": delay,
                "exit": proc.returncode, "stop_s": round(took, 2),
                "stderr_lines": len(err.splitlines()), "stderr": err.strip()[:200],
                "left_on_disk": left, "children_alive": len(alive)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=20000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--at", default="0.5,2,5", help="delays after the start [s], comma-separated")
    args = ap.parse_args()
    for delay in (float(x) for x in args.at.split(",")):
        for sig, group in ((signal.SIGINT, True), (signal.SIGTERM, False)):
            print(one(args.samples, args.workers, delay, sig, group), flush=True)


if __name__ == "__main__":
    main()
