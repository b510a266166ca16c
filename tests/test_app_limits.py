"""``capacity serve`` under requests no page sends: what it reads, how much it takes, how long
work it starts may run.

Every test talks HTTP to the app served by waitress (:func:`capacity.app.make_server`, the
server ``capacity serve`` runs) on a free port of 127.0.0.1, in a thread of this process, so a
test can also watch what the server does (files it opens, solves it runs). Loops are bounded in
count and time. The bounds themselves are :mod:`capacity.app.limits`, listed in
``docs/limits.md``.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import socket
import sys
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("dash", reason="the app extra is not installed: pip install 'capacity[app]'")
pytest.importorskip("waitress", reason="the app extra is not installed: pip install "
                    "'capacity[app]'")

from capacity.app import jobs, limits, make_server, state
from capacity.app.page import RESULT_OUTPUTS

HERE = Path(__file__).resolve().parent
TIMEOUT_S = 60.0
"""Longest any one request of these tests may take. [s]"""


@pytest.fixture(scope="module")
def port():
    """The app behind waitress on a free port of 127.0.0.1, served from a thread."""
    server = make_server("127.0.0.1", 0)
    thread = threading.Thread(target=server.run, daemon=True, name="test-serve")
    thread.start()
    yield server.effective_port
    from waitress import wasyncore

    # closed from the server's own loop (closing its sockets from here races its select())
    server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
    thread.join(10)
    server.task_dispatcher.shutdown()


@pytest.fixture(scope="module")
def keys():
    """The output key of each callback (what a callback body's ``output`` names)."""
    from capacity.app.web import make_app

    return list(make_app().callback_map)


def _key(keys: list[str], prefix: str) -> str:
    return next(k for k in keys if k.startswith(prefix))


def _post(port: int, body: bytes, ctype: str = "application/json") -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT_S)
    try:
        conn.request("POST", "/_dash-update-component", body=body,
                     headers={"Content-Type": ctype})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def _get(port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT_S)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def _page(port: int, path: str) -> tuple[int, bytes]:
    """A GET of the page, its per-request nonce (Dash's ``end_id``) blanked: the same HTML
    whatever the query string."""
    status, data = _get(port, path)
    return status, re.sub(rb'"end_id":"[^"]*"', b'"end_id":""', data)


def _outs(pairs) -> list[dict]:
    return [{"id": i, "property": p} for i, p in pairs]


SHOW = [*RESULT_OUTPUTS, ("status", "children"), ("error", "children"), ("cli-line", "children")]


def _show(keys, search: str) -> dict:
    return {"output": _key(keys, "..cards.children"), "outputs": _outs(SHOW),
            "inputs": [{"id": "url", "property": "search", "value": search}],
            "changedPropIds": ["url.search"], "state": []}


def _panel(keys, search: str) -> dict:
    return {"output": _key(keys, "..panel.children"),
            "outputs": _outs([("panel", "children"), ("settings", "data")]),
            "inputs": [{"id": "url", "property": "search", "value": search}],
            "changedPropIds": ["url.search"],
            "state": [{"id": "settings", "property": "data", "value": None}]}


def _start(keys, search: str, draws: str) -> dict:
    return {"output": _key(keys, "..stress-job.data"),
            "outputs": _outs([("stress-job", "data"), ("stress-poll", "disabled"),
                              ("stress-error", "children")]),
            "inputs": [{"id": "stress-button", "property": "n_clicks", "value": 1}],
            "changedPropIds": ["stress-button.n_clicks"],
            "state": [{"id": "url", "property": "search", "value": search},
                      {"id": "stress-samples", "property": "value", "value": draws}]}


def _poll(keys, job_id: str, n: int) -> dict:
    return {"output": _key(keys, "..stress-progress.children"),
            "outputs": _outs([("stress-progress", "children"), ("stress", "children"),
                              ("stress-poll", "disabled")]),
            "inputs": [{"id": "stress-poll", "property": "n_intervals", "value": n}],
            "changedPropIds": ["stress-poll.n_intervals"],
            "state": [{"id": "stress-job", "property": "data", "value": job_id}]}


def _call(port: int, body: dict) -> dict:
    status, data = _post(port, json.dumps(body).encode())
    assert status == 200, data[:300]
    return json.loads(data)["response"]


# ---------------------------------------------------------------------------------------------
# 1. scenario and base: shipped names and the subject folder's files, nothing else
# ---------------------------------------------------------------------------------------------

class _Watch:
    """Every path the process opens, lists or stats while :attr:`on`: Python's audit events
    (``open``, ``os.listdir``, ``os.scandir``, ...) and the ``os.stat``/``os.lstat`` calls
    behind ``Path.exists`` and ``is_file``."""

    def __init__(self, probes: list[str]):
        self.probes = probes
        self.on = False
        self.seen: list[tuple[str, str]] = []

    def hit(self, event: str, args) -> None:
        if self.on and (event == "open" or event.startswith(("os.", "shutil.", "glob.",
                                                               "pathlib."))):
            for a in args if isinstance(args, tuple) else (args,):
                text = os.fsdecode(a) if isinstance(a, str | bytes | os.PathLike) else ""
                if any(p in text for p in self.probes):
                    self.seen.append((event, text))


def test_scenario_and_base_refuse_any_other_path_alike_without_reading_it(port, keys,
                                                                          tmp_path,
                                                                          monkeypatch):
    secret = tmp_path / "secret.toml"  # a scenario file that exists, outside the subject
    secret.write_text('description = "not the subject\'s"\nextends = "history"\n')
    fifo = tmp_path / "probe.toml"  # opening it for reading would hang the request
    os.mkfifo(fifo)
    probes = ["/etc/hostname", "/no/such.toml", str(secret), str(fifo), "../data/"]
    watch = _Watch(probes)
    sys.addaudithook(watch.hit)  # for the life of the process; it records only while on
    for name in ("stat", "lstat"):
        real = getattr(os, name)

        def wrapped(path, *a, _real=real, _name=name, **k):
            watch.hit(f"os.{_name}", (path,))
            return _real(path, *a, **k)

        monkeypatch.setattr(os, name, wrapped)
    state.scenario_sources()  # the subject folder's listing, made before watching
    answers: dict[tuple[str, str], tuple] = {}
    watch.on = True
    try:
        for param in ("scenario", "base"):
            for value in probes:
                search = (f"?{param}={value}" if param == "scenario"
                          else f"?scenario=history&{param}={value}")
                answers[param, value] = (
                    _page(port, "/" + search),
                    _post(port, json.dumps(_show(keys, search)).encode()),
                    _post(port, json.dumps(_panel(keys, search)).encode()))
    finally:
        watch.on = False
    assert watch.seen == []
    for param in ("scenario", "base"):
        first = answers[param, probes[0]]
        for value in probes[1:]:
            assert answers[param, value] == first, (param, value)
        (get_status, _), (show_status, show), (panel_status, _) = first
        assert (get_status, show_status, panel_status) == (200, 200, 200)
        shown = json.loads(show)["response"]
        assert shown["error"]["children"] == (
            f"{param}: not a shipped scenario or a scenario file of the subject folder (the "
            "app reads nothing else)")
    assert answers["scenario", probes[0]] != answers["base", probes[0]]


def test_shipped_names_and_the_subject_folders_files_are_what_loads(port, keys):
    by_name = _call(port, _show(keys, "?scenario=embargo-2024"))
    by_file = _call(port, _show(keys, "?scenario=scenarios/embargo-2024.toml"))
    assert by_name["error"]["children"] == by_file["error"]["children"] == ""
    assert by_name["cards"] == by_file["cards"]  # the same target prices and KPIs


def test_a_link_out_of_the_subject_folder_is_not_offered(tmp_path):
    import shutil

    from capacity.scenarios import set_subject

    data = HERE.parent / "data"
    subject = tmp_path / "subject"
    shutil.copytree(data, subject)
    (subject / "scenarios" / "out.toml").symlink_to(tmp_path / "elsewhere.toml")
    (tmp_path / "elsewhere.toml").write_text('extends = "history"\n')
    set_subject(subject)
    try:
        sources = state.scenario_sources()
        assert "scenarios/history.toml" in sources and "history" in sources
        assert "scenarios/out.toml" not in sources and "out" not in sources
        with pytest.raises(Exception, match="not a shipped scenario"):
            state.source_of(str(tmp_path / "elsewhere.toml"))
    finally:
        set_subject(None)


# ---------------------------------------------------------------------------------------------
# 2. request bodies: size, depth and shape; slow bodies
# ---------------------------------------------------------------------------------------------

def _one_line_4xx(status: int, data: bytes) -> str:
    assert 400 <= status < 500, (status, data[:300])
    text = data.decode()
    assert text.endswith("\n") and text.count("\n") == 1, text[:300]
    return text.strip()


@pytest.mark.parametrize("body", [
    b"{not json", b"\xff\xfe", b"", b"{}", b"[]", b"null", b"12", b'"text"',
    b'{"output": "every.children"}',
    b'{"output": "no-such.output", "inputs": [], "outputs": []}',
    b'{"output": "every.children", "inputs": [1, 2], "outputs": {}}',
    b'{"output": "every.children", "inputs": "x", "outputs": []}',
    b"[" * 100 + b"]" * 100,
    b"[" * 200_000 + b"]" * 200_000,
    b'{"a":' * 50 + b"1" + b"}" * 50,
], ids=lambda b: repr(b[:24]))
def test_malformed_callback_bodies_get_one_line_4xx(port, body):
    _one_line_4xx(*_post(port, body))


def test_callback_values_of_the_wrong_type_get_one_line_4xx(port, keys):
    for bad in (123, ["?scenario=history"], {"a": 1}):
        body = _show(keys, "")
        body["inputs"][0]["value"] = bad
        line = _one_line_4xx(*_post(port, json.dumps(body).encode()))
        assert line == "bad callback request: url.search: expected text or null"
    body = _panel(keys, "")
    body["state"][0]["value"] = [1, 2]
    assert _one_line_4xx(*_post(port, json.dumps(body).encode())) == (
        "bad callback request: settings.data: expected an object")
    assert _one_line_4xx(*_post(port, b'{"x": 1}', "text/plain")).startswith(
        "callback body: expected Content-Type application/json")


def test_a_well_formed_body_still_works(port, keys):
    got = _call(port, _show(keys, "?scenario=history"))
    assert got["error"]["children"] == ""


def _raw(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S)
    return s


def _head(length: int) -> bytes:
    return (f"POST /_dash-update-component HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n").encode()


def test_a_20_mb_body_is_refused_413_unread(port):
    """Refused on its declared length: the answer comes while the client has sent 64 KB of it
    (how fast is measured by benchmarks/app_limits.py, not asserted here)."""
    size = 20 * 1024 * 1024
    s = _raw(port)
    s.sendall(_head(size) + b"[" * 65536)  # the first 64 KB of 20 MB
    s.settimeout(TIMEOUT_S)
    reply = s.recv(4096)
    s.close()
    assert reply.startswith(b"HTTP/1.1 413 "), reply[:200]
    # a whole 20 MB body sent as fast as the client can: refused as quickly, and the server
    # closes without reading on (the client cannot finish sending)
    s = _raw(port)
    sent = 0
    chunk = b"x" * (1 << 20)
    with contextlib.suppress(OSError):
        s.sendall(_head(size))
        while sent < size:
            s.sendall(chunk)
            sent += len(chunk)
    s.settimeout(5)
    with contextlib.suppress(OSError):
        reply = s.recv(4096)
    s.close()
    assert sent < size  # the server stopped reading long before the end
    assert reply.startswith(b"HTTP/1.1 413 ")


def test_a_body_claimed_at_1_gb_and_sent_slowly_holds_nothing(port):
    s = _raw(port)
    s.sendall(_head(1 << 30) + b"[")  # one byte of the body: the answer cannot wait for more
    s.settimeout(TIMEOUT_S)
    reply = s.recv(4096)
    assert reply.startswith(b"HTTP/1.1 413 ")
    s.close()


def test_slow_bodies_hold_no_worker_and_time_out(port):
    """More half-sent bodies than the server has threads: a whole request is still answered
    at once (bodies are read in the event loop, not by a worker), and every half-sent one is
    closed after the channel timeout."""
    slow = []
    for _ in range(limits.SERVER_THREADS + 4):
        s = _raw(port)
        s.sendall(_head(10_000) + b'{"output": ')
        slow.append(s)
    status, _ = _get(port, "/_dash-layout")  # answered while every half-sent one is open
    assert status == 200
    deadline = time.monotonic() + limits.CHANNEL_TIMEOUT_S + limits.CLEANUP_INTERVAL_S + 5
    for s in slow:
        s.settimeout(max(0.1, deadline - time.monotonic()))
        assert s.recv(4096) == b""  # closed by the server, with nothing answered
        s.close()
    assert time.monotonic() < deadline


# ---------------------------------------------------------------------------------------------
# 3. stress jobs: bounded, and cancelled when their page stops polling
# ---------------------------------------------------------------------------------------------

def _job(job_id: str) -> jobs.StressJob:
    with jobs._jobs_lock:  # read without the heartbeat that stress_job() gives
        return jobs._jobs[job_id]


def test_stress_draws_are_bounded(port, keys):
    got = _call(port, _start(keys, "?scenario=history", str(limits.MAX_APP_STRESS_SAMPLES + 1)))
    assert got["stress-error"]["children"] == (
        f"draws: at most {limits.MAX_APP_STRESS_SAMPLES:,} in the app, got "
        f"{limits.MAX_APP_STRESS_SAMPLES + 1:,} (capacity stress --samples on the command line "
        "takes more)")


def test_stress_jobs_are_bounded_in_number_and_stop_when_their_page_leaves(port, keys):
    draws = str(limits.MAX_APP_STRESS_SAMPLES)
    searches = [f"?scenario=history&set=finance.ev_sales_multiple%3D{7 + i}"
                for i in range(limits.MAX_APP_STRESS_JOBS + 1)]
    ids = [_call(port, _start(keys, s, draws))["stress-job"]["data"]
           for s in searches[:limits.MAX_APP_STRESS_JOBS]]
    refused = _call(port, _start(keys, searches[-1], draws))
    assert refused["stress-error"]["children"] == (
        f"stress: {limits.MAX_APP_STRESS_JOBS} stress runs are going in this server (the most "
        "it runs at once); start this one when one has finished")
    # polled like the page does (every 0.4 s) for 3 s: they run on
    last_poll = {}
    for n in range(8):
        time.sleep(0.4 if n else 0.0)
        for job_id in ids:
            last_poll[job_id] = time.monotonic()  # as the request leaves
            assert _call(port, _poll(keys, job_id, n))["stress-progress"]["children"] \
                .startswith("running: ")
    assert all(_job(j).ended is None for j in ids)
    # the page leaves: each job stops within 2 s of its last poll
    deadline = time.monotonic() + 10.0
    while any(_job(j).ended is None for j in ids) and time.monotonic() < deadline:
        time.sleep(0.05)
    for job_id in ids:
        job = _job(job_id)
        assert job.ended is not None, job  # how soon: benchmarks/app_limits.py
        assert job.error.startswith("stress run cancelled after ")
        assert 0 < job.done < job.total
    # and a place is free again
    assert _call(port, _start(keys, searches[-1], "20"))["stress-error"]["children"] == ""


# ---------------------------------------------------------------------------------------------
# 4. cache hits are served while a solve runs
# ---------------------------------------------------------------------------------------------

def test_cache_hits_are_served_while_a_solve_runs(port, keys, monkeypatch):
    _call(port, _show(keys, "?scenario=history"))  # cached now
    slow = state.Settings.from_query("?scenario=history&set=finance.ev_sales_multiple%3D9.25")
    release, entered = threading.Event(), threading.Event()
    solves: list[state.Settings] = []
    real = state._evaluate

    def held(settings):
        solves.append(settings)
        if settings == slow:
            entered.set()
            assert release.wait(TIMEOUT_S)
        return real(settings)

    monkeypatch.setattr(state, "_evaluate", held)
    answers: list[dict] = []
    waiting = [threading.Thread(target=lambda: answers.append(
        _call(port, _show(keys, slow.query())))) for _ in range(3)]
    for t in waiting:
        t.start()
    try:
        assert entered.wait(TIMEOUT_S)
        hit = _call(port, _show(keys, "?scenario=history"))  # answered while the solve is held
        assert hit["status"]["children"]["props"]["data-cached"] == "true"
        # another distinct view solves meanwhile (a second solve slot)
        other = _call(port, _show(keys, "?scenario=history&set=finance.ev_sales_multiple%3D9.5"))
        assert other["error"]["children"] == ""
        assert not release.is_set() and all(t.is_alive() for t in waiting)
    finally:
        release.set()
        for t in waiting:
            t.join(TIMEOUT_S)
    assert solves.count(slow) == 1  # three requests for the same view: one solve
    assert len(answers) == 3 and answers[0]["cards"] == answers[1]["cards"] == answers[2]["cards"]


# ---------------------------------------------------------------------------------------------
# 6. docs/limits.md lists every web limit
# ---------------------------------------------------------------------------------------------

def test_limits_doc_lists_every_web_limit():
    doc = (HERE.parent / "docs" / "limits.md").read_text(encoding="utf-8")
    names = [n for n in vars(limits) if n.isupper()]
    assert len(names) >= 10
    for name in names:
        row = next((line for line in doc.splitlines() if line.startswith(f"| `{name}` |")), None)
        assert row is not None, f"docs/limits.md has no row for {name}"
        assert f"| {getattr(limits, name)} |" in row, f"{name}: {row}"
