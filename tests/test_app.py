"""``capacity serve`` end to end: the app in headless Chromium, against the command line.

The browser is Debian's ``chromium`` driven by Playwright's Python package (``executable_path``;
no ``playwright install``). The test starts ``capacity serve`` on a free port, changes the
EV/Sales multiple and one export-control rule, and checks that the target price shown is the one
``capacity value --format json`` gives for the same ``--set`` keys; that the downloaded scenario
passes ``capacity validate`` and reproduces that price; that bad input is shown beside its field
in one line while the page keeps working; that the URL holds the view; and that the page loads
nothing from another host; and that the HTML served before any script runs already holds, in
``#target-price``, the target price ``capacity value`` gives for its default scenario and vintage
(the view the page opens on). The re-solve time is measured and printed, never asserted
(``benchmarks/app_first_paint.py`` times the first paint).

Skipped, saying why, where the app extra, Playwright or ``/usr/bin/chromium`` is missing
(``.ci/run`` installs them).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from cli_helpers import cli_json

from capacity.cli import main

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
START_TIMEOUT_S = 60.0
"""Longest wait for the server to answer and for a view to be drawn. [s]"""



def _need_dash() -> None:
    pytest.importorskip("dash", reason="the app extra is not installed: pip install "
                        "'capacity[app]'")


def _need_browser():
    api = pytest.importorskip("playwright.sync_api",
                              reason="Playwright's Python package is not installed "
                                     "(pip install playwright; the test extra has it)")
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    return api


SCENARIO = "embargo-2024"
RULE_OFF = "embargo-2024"
"""The rule the test switches off (the scenario's hypothetical embargo)."""
MULTIPLE_KEY = "finance.ev_sales_multiple"
MULTIPLE = "8.5"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    """``capacity serve`` in a subprocess on a free port; its base URL."""
    _need_dash()
    port = _free_port()
    log = open(os.devnull, "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-m", "capacity.cli", "serve", "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"capacity serve did not answer on {url} (exit {proc.poll()})")
            time.sleep(0.2)
    yield url
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()


@pytest.fixture(scope="module")
def browser():
    sync_api = _need_browser()
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                              headless=True)
        yield b
        b.close()


def _shown_tp(page) -> tuple[str, float]:
    el = page.locator("#tp-target_price")
    return el.inner_text(), float(el.get_attribute("data-value"))


def _wait_for_tp(page, text: str) -> None:
    page.wait_for_function("t => { const e = document.querySelector('#tp-target_price');"
                           " return e !== null && e.innerText === t; }", arg=text,
                           timeout=START_TIMEOUT_S * 1000)


def _value_tp(*args: str) -> float:
    return cli_json("value", *args)["target_price"]


def test_serve_explores_a_scenario_like_the_command_line(server, browser, tmp_path, capsys):
    page = browser.new_page(viewport={"width": 1440, "height": 1000}, accept_downloads=True)
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(f"{server}?scenario={SCENARIO}")
    page.wait_for_selector("#tp-target_price", timeout=START_TIMEOUT_S * 1000)
    tp0 = _value_tp("--scenario", SCENARIO)
    assert _shown_tp(page)[0] == f"{tp0:,.2f}"

    # one input: the multiple (typed, then Enter), timed from the key press to the new price
    rules = [r for r in cli_json("validate", SCENARIO)["changes"]
             if r["key"] == "controls.rules"][-1]["new"]
    tp1 = _value_tp("--scenario", SCENARIO, "--set", f"{MULTIPLE_KEY}={MULTIPLE}")
    box = page.locator(f"input[name='{MULTIPLE_KEY}']")
    box.fill(MULTIPLE)
    t0 = time.perf_counter()
    box.press("Enter")
    _wait_for_tp(page, f"{tp1:,.2f}")
    took_multiple = time.perf_counter() - t0
    solved_multiple = float(page.locator("#timing").get_attribute("data-seconds"))

    # one rule toggle: the scenario's embargo off
    kept = [r for r in rules if r != RULE_OFF]
    sets = ["--set", f"{MULTIPLE_KEY}={MULTIPLE}", "--set", f"controls.rules={json.dumps(kept)}"]
    tp2 = _value_tp("--scenario", SCENARIO, *sets)
    capex = [cli_json("plan", "--scenario", SCENARIO, *s)["total_capex_m"]
             for s in ([], sets)]
    assert abs(capex[1] - capex[0]) > 1.0, "switching the embargo off should move the plan"
    t0 = time.perf_counter()
    page.locator("#rules label", has_text=RULE_OFF).click()
    _wait_for_tp(page, f"{tp2:,.2f}")
    took_rule = time.perf_counter() - t0
    solved_rule = float(page.locator("#timing").get_attribute("data-seconds"))
    text, full = _shown_tp(page)
    assert text == f"{tp2:,.2f}"
    assert full == pytest.approx(tp2, rel=1e-9)  # the JSON rounds to 10 significant digits
    capex = cli_json("plan", "--scenario", SCENARIO, *sets)["total_capex_m"]
    assert page.inner_text("#kpi-total_capex_m") == f"{capex:,.0f}"

    # the URL holds the view: a fresh page on it shows the same price
    from capacity.app.state import Settings

    state = Settings.from_query(page.url.split("?", 1)[1])
    assert state.scenario == SCENARIO
    assert state.set_values() == {MULTIPLE_KEY: float(MULTIPLE), "controls.rules": kept}
    other = browser.new_page()
    other.goto(page.url)
    _wait_for_tp(other, f"{tp2:,.2f}")
    # ... and with a base scenario beside it, the base as capacity value gives it
    other.goto(page.url + "&base=history")
    other.wait_for_selector("#t-compare", timeout=START_TIMEOUT_S * 1000)
    base_tp = _value_tp("--scenario", "history")
    card = other.locator(".card", has=other.locator("#tp-target_price"))
    assert f"history: {base_tp:,.2f} HKD" in card.inner_text()
    assert _shown_tp(other)[0] == f"{tp2:,.2f}"
    other.close()

    # moving back is served from the cache
    page.go_back()
    _wait_for_tp(page, f"{tp1:,.2f}")
    assert page.locator("#timing").get_attribute("data-cached") == "true"
    page.go_forward()
    _wait_for_tp(page, f"{tp2:,.2f}")

    # "Download scenario": a file capacity validate accepts and capacity value reproduces
    with page.expect_download() as info:
        page.click("#download-button")
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["validate", str(path)]) == 0
    assert out.getvalue().startswith(f"{path}: ok")
    assert _value_tp("--scenario", str(path)) == tp2

    # bad input: one line beside the field, the last results stay, the page keeps working
    box = page.locator(f"input[name='{MULTIPLE_KEY}']")
    box.fill("-1")
    box.press("Enter")
    err_id = json.dumps({"key": MULTIPLE_KEY, "type": "err"}, separators=(",", ":"))
    err = page.locator(f"[id='{err_id}']")
    err.wait_for(state="visible", timeout=START_TIMEOUT_S * 1000)
    message = err.inner_text()
    assert message == (f"<command line>: {MULTIPLE_KEY}: Input should be greater than 0, "
                       "got -1")
    assert "Traceback" not in page.content()
    assert _shown_tp(page)[0] == f"{tp2:,.2f}"
    box.fill(MULTIPLE)
    box.press("Enter")
    page.wait_for_function("() => document.querySelector('.err:not(:empty)') === null",
                           timeout=START_TIMEOUT_S * 1000)
    _wait_for_tp(page, f"{tp2:,.2f}")

    # the stress fan of these settings, on request, with progress: as capacity stress gives it
    page.fill("#stress-samples", "20")
    page.click("#stress-button")
    page.wait_for_selector("#s-stress", timeout=START_TIMEOUT_S * 1000)
    assert page.inner_text("#stress-progress").startswith("20 draws done in ")
    assert page.locator("[id='g-fan-peak_eflops'] .main-svg").count() > 0
    centre = page.locator("#s-stress tr", has_text="centre_target_price [HKD]")
    stress = cli_json("stress", "--scenario", SCENARIO, *sets, "--samples", "20",
                      "--executor", "inline", "--workers", "1")
    assert centre.locator("td").inner_text() == f"{stress['centre_target_price']:.3f}"

    # every asset from this server: no request to another host, no external script or style
    hosts = {u.split("/")[2] for u in requested if u.startswith(("http://", "https://"))}
    assert hosts == {server.split("/")[2]}
    html = page.content()
    assert "cdn." not in html and "unpkg" not in html and "fonts.googleapis" not in html
    page.close()

    with capsys.disabled():
        print(f"\ncapacity serve re-solve after one change: multiple {took_multiple:.2f} s "
              f"in the browser ({solved_multiple:.2f} s solving), rule toggle "
              f"{took_rule:.2f} s ({solved_rule:.2f} s solving)")


def test_served_page_carries_the_default_target_price_of_capacity_value(server):
    """The HTML ``capacity serve`` sends (before any script runs) holds ``#target-price`` with
    the target price ``capacity value`` gives for its default scenario and vintage."""
    import re

    with urllib.request.urlopen(server, timeout=30) as r:
        page = r.read().decode("utf-8")
    m = re.search(r'<span id="target-price" data-value="([^"]+)">([^<]+)</span>', page)
    assert m is not None, "no #target-price in the served HTML"
    cli = cli_json("value")
    tp = cli["target_price"]
    assert float(m.group(1)) == pytest.approx(tp, rel=1e-9)  # the JSON keeps 10 digits
    assert m.group(2) == f"{tp:,.2f}"
    assert f"{cli['scenario']}, vintage {cli['as_of']}" in page
    # no script blocks it: the files are loaded once the page has painted
    assert "<script src=" not in page and "text/x-after-first-paint" in page


def test_price_cards_do_not_repeat_one_another():
    """One card per distinct price: a method whose price equals the headline's is named on
    its card, not shown again."""
    from capacity.app.page import _cards
    from capacity.app.state import Settings, evaluate, target_prices

    ev, _ = evaluate(Settings())
    tps = target_prices(ev.value)
    ids = [c.children[1].children[0].id for c in _cards(ev)
           if c.children[1].children[0].id.startswith("tp-")]
    first = {}  # each price as shown, the first key that has it
    for k, v in tps.items():
        first.setdefault(f"{v:,.2f}", k)
    assert ids == [f"tp-{k}" for k in first.values()]
    assert len({f"{tps[i[3:]]:,.2f}" for i in ids}) == len(ids) < len(tps)


def test_serve_without_the_extra_says_how_to_install_it(tmp_path):
    """With dash hidden, ``capacity serve`` fails in one line naming the extra (exit 2)."""
    (tmp_path / "dash").mkdir()
    (tmp_path / "dash" / "__init__.py").write_text("raise ImportError('hidden', name='dash')\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    res = subprocess.run([sys.executable, "-m", "capacity.cli", "serve", "--port", "1"],
                         capture_output=True, text=True, env=env, timeout=60)
    assert res.returncode == 2
    assert res.stderr == ("capacity: capacity serve: needs the app extra (dash is not "
                          "installed): pip install 'capacity[app]'\n")



# ---------------------------------------------------------------------------------------------
# The app's state without a browser (capacity.app.state needs no web framework)
# ---------------------------------------------------------------------------------------------


def test_settings_round_trip_through_the_query_string():
    from capacity.app.state import Settings

    s = Settings("embargo-2024", "history", ("finance.ev_sales_multiple=8.5",
                                             'controls.rules=["oct-2022", "oct-2023"]',
                                             "planner.pue=1.4"))
    q = s.query()
    assert q.startswith("?scenario=embargo-2024&base=history&set=finance.ev_sales_multiple%3D8.5")
    assert Settings.from_query(q) == s
    assert Settings.from_query("") == Settings()  # the default view, nothing changed
    # the page opens where capacity value does without --scenario
    assert Settings().scenario == cli_json("value")["scenario"]
    assert s.cli_args() == ["--scenario", "embargo-2024", "--set", "finance.ev_sales_multiple=8.5",
                            "--set", 'controls.rules=["oct-2022", "oct-2023"]',
                            "--set", "planner.pue=1.4"]


def test_downloaded_scenario_loads_the_same_inputs_as_the_settings(tmp_path):
    """The file's [set] table gives exactly the inputs of scenario + --set items, for numbers,
    whole numbers, lists of text, a new key in a table and text that is not TOML."""
    from capacity.app.state import Settings
    from capacity.scenarios import load_scenario

    s = Settings("h200-opens-2026", None, (
        "finance.ev_sales_multiple=8.25", "planner.capex_budget_m.2024=4000",
        'controls.rules=["oct-2022", "oct-2023", "h200-volume-2026"]',
        "planner.price_usd.L40S=9000", "demand.inference.method=yield"))
    path = tmp_path / "mine.toml"
    path.write_text(s.scenario_toml(), encoding="utf-8")
    from_file = load_scenario(path)
    from_sets = load_scenario("h200-opens-2026", set_values=s.set_values())
    assert from_file.inputs.model_dump() == from_sets.inputs.model_dump()
    assert from_file.inputs.finance.ev_sales_multiple == 8.25
    assert from_file.inputs.controls.rules == ["oct-2022", "oct-2023", "h200-volume-2026"]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["validate", str(path)]) == 0
    assert f"{path}: ok" in out.getvalue()


def test_fields_offered_with_their_units_and_the_scenarios_values():
    from capacity.app.state import knobs
    from capacity.scenarios import load_scenario

    by_key = {k.key: k for k in knobs(load_scenario("history"))}
    # data/baseline.toml: capex 2024 = 3000 RMB m, H800 at USD 27,400, 7.5x EV/Sales, 100 MW
    assert (by_key["planner.capex_budget_m.2024"].default,
            by_key["planner.capex_budget_m.2024"].unit) == ("3000", "RMB m")
    assert (by_key["planner.price_usd.H800"].default,
            by_key["planner.price_usd.H800"].unit) == ("27400", "USD per unit")
    assert (by_key["finance.ev_sales_multiple"].default,
            by_key["finance.ev_sales_multiple"].unit) == ("7.5", "x sales")
    assert by_key["planner.datacenter_mw.2025Q1"].unit == "MW"
    assert by_key["controls.base_supply_units_per_quarter.Ascend910B"].default == "2000"
    assert by_key["demand.tokens.growth_annual"].default == "0.5"
    assert by_key["planner.discount_rate_annual"].group == "Finance"
    assert all(k.unit for k in by_key.values())


def test_rule_toggles_follow_the_scenarios_order():
    from capacity.app.state import rule_options, rules_item
    from capacity.scenarios import load_scenario

    sc = load_scenario("embargo-2024")
    opts = rule_options(sc)
    assert [o.id for o in opts if o.on] == ["oct-2022", "oct-2023", "embargo-2024",
                                            "hbm-dec-2024"]
    assert not any(o.on for o in opts[4:])  # the library rules it does not list, off
    on = [o.id for o in opts if o.on]
    assert rules_item(sc, on) is None
    assert rules_item(sc, [r for r in on if r != "embargo-2024"]) == \
        'controls.rules=["oct-2022", "oct-2023", "hbm-dec-2024"]'
    # ticking a library rule puts it after the scenario's own (later decides a tie)
    assert rules_item(sc, [*on, "h20-apr-2025"]).endswith('"hbm-dec-2024", "h20-apr-2025"]')


def test_bad_input_is_one_line_about_its_field():
    from capacity.app.state import Settings, evaluate

    ev, _ = evaluate(Settings("history", None, ("finance.ev_sales_multiple=-1",)))
    assert ev.error == ("<command line>: finance.ev_sales_multiple: Input should be greater "
                        "than 0, got -1")
    assert ev.error_key == "finance.ev_sales_multiple" and ev.value is None
    ev, _ = evaluate(Settings("history", None, ('controls.rules=["oct-2022", "nope"]',)))
    assert ev.error_key == "controls.rules" and "unknown rule 'nope'" in ev.error
    ev, _ = evaluate(Settings("no-such-scenario"))  # the app reads only what it lists
    assert ev.error == ("scenario: not a shipped scenario or a scenario file of the subject "
                        "folder (the app reads nothing else)")
    ev, _ = evaluate(Settings("history", None, ("planner.pue",)))
    assert ev.error == "--set: expected KEY=VALUE, got 'planner.pue'"


def test_target_prices_are_every_scalar():
    from capacity.app.state import target_prices
    from capacity.results import Report

    r = Report("value", scalars={"target_price": 1.3, "target_price_ev_sales": 1.3,
                                 "target_price_dcf": 0.9, "fx_listing": 0.93, "multiple": 7.5,
                                 "scenario": "history", "flag": True})
    assert target_prices(r) == {"target_price": 1.3, "target_price_ev_sales": 1.3,
                                "target_price_dcf": 0.9}


def test_same_value_reads_numbers_not_text():
    from capacity.app.state import same_value

    assert same_value("1500", "1500") and same_value("1500.0", "1500")
    assert same_value(" 7.5 ", "7.5")
    assert not same_value("7.6", "7.5") and not same_value("abc", "7.5")


def test_serve_refuses_an_address_in_use_in_one_line():
    _need_dash()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        res = subprocess.run([sys.executable, "-m", "capacity.cli", "serve", "--port",
                              str(port)], capture_output=True, text=True, timeout=60)
    assert res.returncode == 2
    assert res.stderr == (f"capacity: --port: 127.0.0.1:{port} is in use by another program "
                          "(pick another with --port)\n")
