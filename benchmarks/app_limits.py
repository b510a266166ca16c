"""How fast ``capacity serve`` refuses oversized bodies and cancels an abandoned stress run.

Usage::

    python benchmarks/app_limits.py [--repeat 3]

Serves the app behind waitress on a free port of 127.0.0.1 (in this process) and reports, per
repeat: the time from sending the head and the first 64 KB of a 20 MB callback body to the 413
answer [s]; the same for a body claimed at 1 GB with one byte sent [s]; and for a stress run
started from the page and polled as the page does, the time from its last poll to its end
after the polls stop (issue #29: under 2 s) [s]. The tests (``tests/test_app_limits.py``)
check the behaviour; the times are measured here, never asserted there. The request helpers
are the tests' own.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    import test_app_limits as t

    from capacity.app import jobs, make_server
    from capacity.app.web import make_app

    server = make_server("127.0.0.1", 0)
    threading.Thread(target=server.run, daemon=True).start()
    port, keys = server.effective_port, list(make_app().callback_map)
    t._call(port, t._show(keys, "?scenario=history"))  # warm: the view solved once
    for r in range(args.repeat):
        out = {}
        for name, size, body in (("413_20mb_s", 20 << 20, b"[" * 65536),
                                 ("413_1gb_claimed_s", 1 << 30, b"[")):
            s = t._raw(port)
            t0 = time.perf_counter()
            s.sendall(t._head(size) + body)
            reply = s.recv(4096)
            out[name] = round(time.perf_counter() - t0, 4)
            s.close()
            assert reply.startswith(b"HTTP/1.1 413 "), reply[:80]
        started = t._call(port, t._start(keys, f"?scenario=history&r={r}", "2000"))
        job_id = started["stress-job"]["data"]
        for n in range(4):
            t._call(port, t._poll(keys, job_id, n))
            last = time.monotonic()
            time.sleep(0.4)
        while True:
            with jobs._jobs_lock:
                job = jobs._jobs[job_id]
            if job.ended is not None or time.monotonic() - last > 30:
                break
            time.sleep(0.02)
        out["stress_stop_after_last_poll_s"] = (round(job.ended - last, 2)
                                                if job.ended is not None else None)
        print({"repeat": r, **out}, flush=True)


if __name__ == "__main__":
    main()
