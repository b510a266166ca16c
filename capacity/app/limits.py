"""The bounds of ``capacity serve``: request sizes and times, callback bodies, stress jobs.

Each is a named constant with its unit; ``docs/limits.md`` ("The web app") lists every one with
its value and its reason, and ``tests/test_app_limits.py`` checks both the list and each bound.
"""

from __future__ import annotations

MAX_REQUEST_BODY_BYTES = 1_048_576
"""Largest request body the server takes: a larger one is refused with 413 as soon as its
headers say so (``Content-Length``), before any of it is read; a chunked body is cut off when it
grows past it. The largest callback body the page sends is a few KB (the fields of one
scenario). [bytes]"""

MAX_REQUEST_HEADER_BYTES = 65_536
"""Largest request line and headers: a larger one is refused (431). [bytes]"""

MAX_JSON_DEPTH = 16
"""Deepest nesting of arrays and objects in a callback body; the page's deepest is 5 (a field
of a pattern-matching input: ``inputs[i][j].id.key``). [levels]"""

CHANNEL_TIMEOUT_S = 5
"""A connection that sends nothing for this long is closed, a request half-sent (a slow body)
included; no worker thread waits for a body meanwhile (the server reads bodies in its event
loop and hands a worker only a whole request). [s]"""

CLEANUP_INTERVAL_S = 1
"""How often the server looks for connections past :data:`CHANNEL_TIMEOUT_S`. [s]"""

MAX_CONNECTIONS = 256
"""Open connections at once; further clients wait in the listen queue until one closes.
[connections]"""

SERVER_THREADS = 64
"""Worker threads answering requests. Many more than :data:`MAX_CONCURRENT_SOLVES`: a request
waiting for a solve holds a thread (and no CPU), so cache hits and stress polls are answered
while solves run even with dozens of views waiting (benchmarks/app_load.py: 100 clients, median
callback 0.28 s with 64 threads, 1.4 to 2.1 s with 16, where waiting requests filled the pool).
[threads]"""

MAX_CONCURRENT_SOLVES = 2
"""Scenario solves running at once (one per core of the machine it was sized on); further
distinct settings wait for a turn, cache hits never do. [solves]"""

MAX_APP_STRESS_SAMPLES = 2000
"""Most draws of a stress run started from the page; ``capacity stress`` on the command line
takes up to ``MAX_STRESS_SAMPLES``. At about 5 ms a draw this is ten seconds of work, and it
keeps each batch (about 32 draws) short enough to stop between batches. [draws]"""

MAX_APP_STRESS_JOBS = 2
"""Stress runs going at once in one server (one per core); another start is refused in one
line until one finishes. [runs]"""

STRESS_HEARTBEAT_TIMEOUT_S = 1.5
"""A stress run whose page has not polled it for this long is cancelled (its client left: the
page polls every 0.4 s, and plain HTTP says nothing when a client goes). [s]"""
