"""The Dash app of ``capacity serve``: the callbacks that connect the page to the results.

The page (:mod:`capacity.app.page`) is a panel of fields (scenario, base scenario,
export-control rules, the inputs of :func:`capacity.app.state.knobs`, free ``--set`` lines) and
the results of the view. The state is the query string (:class:`capacity.app.state.Settings`),
held in a ``dcc.Location``:

0. the page served (:class:`_App`) already holds the headline target price (``#target-price``)
   of its view when the cache has it (the default view, :func:`capacity.app.state.default_scenario`
   with no items, is solved before the server listens), and the layout the view's results, so
   they show before the scripts have run and without a callback; the figures draw once plotly
   has loaded, and a clientside callback keeps ``#target-price`` on the view shown;
1. :func:`build_panel` draws the fields for the settings in the URL (on load, on back/forward,
   on a change of scenario) and records them in the ``settings`` store;
2. :func:`collect` turns the fields into settings after each change and writes them to the URL
   and the store;
3. :func:`show` evaluates the stored settings (:func:`capacity.app.state.evaluate`, cached) and
   draws the results; an error is shown beside the field it is about, the earlier results stay.

Every asset is served by this process (``serve_locally``, no external scripts or fonts).
"""

from __future__ import annotations

import time
from functools import lru_cache

from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate
from werkzeug.exceptions import BadRequest

from capacity.app.figures import stress_view
from capacity.app.jobs import start_stress, stress_job
from capacity.app.page import (
    HEADLINE_MARK,
    INDEX,
    RESULT_OUTPUTS,
    cached_scenario,
    every_table,
    headline_html,
    hidden_fields,
    knob_defaults,
    page_layout,
    panel,
    results,
)
from capacity.app.state import (
    REFUSED,
    Settings,
    cached,
    evaluate,
    rules_item,
    same_value,
)
from capacity.errors import CapacityError


class _App(Dash):
    """Dash, with the headline of the page's view written into the HTML it serves, and its
    scripts loaded only once the page has painted (:func:`_loader`), so the headline shows
    before 6 MB of scripts are read and run."""

    def interpolate_index(self, **kwargs) -> str:
        scripts = kwargs.get("scripts", "")
        if "<script src=" in scripts:
            kwargs["scripts"] = scripts.replace("<script src=", f'<script type="{LATER}" src=')
            kwargs["renderer"] = _loader(kwargs.get("renderer", ""))
        page = super().interpolate_index(**kwargs)
        return page.replace(HEADLINE_MARK, headline_html(_first_view(_page_query())), 1)


LATER = "text/x-after-first-paint"
"""The type Dash's script tags are served with: a type the browser does not run, so they
neither block the page nor load until :func:`_loader` adds them (their ``src`` stays in the
page, where Dash checks for its renderer)."""


def _loader(renderer: str) -> str:
    """Dash's renderer tag turned into a loader: after the first frame (or 100 ms, for a page
    opened in the background) it adds the :data:`LATER` scripts in their order (``async =
    false`` keeps it) and starts the renderer once the last has run. [JavaScript]"""
    head, sep, rest = renderer.partition(">")
    body, end, _tail = rest.rpartition("</script>")
    if not sep or not end or not body.strip():
        body, head = "var renderer = new DashRenderer();", '<script id="_dash-renderer"'
    return head + """>(function () {
  var started = false;
  function start() { """ + body.strip() + """ }
  function load() {
    if (started) { return; }
    started = true;
    var later = document.querySelectorAll('""" + f'script[type="{LATER}"]' + """');
    var left = later.length;
    later.forEach(function (tag) {
      var s = document.createElement('script');
      s.src = tag.getAttribute('src'); s.async = false;
      s.onload = s.onerror = function () { if (--left === 0) { start(); } };
      document.body.appendChild(s);
    });
  }
  requestAnimationFrame(function () { setTimeout(load, 0); });
  setTimeout(load, 100);
})();</script>"""


def _page_query() -> str | None:
    """The query string of the page being served: of this request for the page itself, of
    its referrer for the layout the page asks for next; None when it cannot be known (outside
    a request, a layout request without a referrer), so nothing is drawn ahead for it."""
    from urllib.parse import urlsplit

    from flask import has_request_context, request

    if not has_request_context():
        return None
    if request.path.rstrip("/").endswith("_dash-layout"):
        return urlsplit(request.referrer).query if request.referrer else None
    return request.query_string.decode("utf-8", "replace")


def _first_view(search: str | None):
    """The evaluation of the view a page opens on, when the cache has it (the default view
    is solved before the server listens, :func:`capacity.app.state.warm`), else None: serving
    the page never waits for a solve."""
    if search is None:
        return None
    try:
        ev = cached(Settings.from_query(search))
    except Exception:  # a page that cannot say is drawn by the callbacks
        return None
    return None if ev is None or ev.error else ev


def _layout() -> html.Div:
    """The layout, with the results of the view it opens on already drawn when cached."""
    ev = _first_view(_page_query())
    return page_layout(None if ev is None else _drawn(ev))


def make_app() -> Dash:
    """The Dash app (not started)."""
    app = _App(__name__, title="capacity serve", update_title=None, serve_locally=True,
               suppress_callback_exceptions=True, index_string=INDEX,
               assets_ignore=".*", include_assets_files=False)
    app.layout = _layout
    app.clientside_callback(
        """function(h) {
            if (!h) { return window.dash_clientside.no_update; }
            const e = document.getElementById('target-price');
            if (e) { e.textContent = h.text; e.dataset.value = h.value; }
            const o = document.getElementById('headline-of');
            if (o) { o.textContent = h.of; }
            return h.value;
        }""", Output("headline-sync", "data"), Input("headline", "data"))
    app.server.register_error_handler(BadRequest, _one_line)

    @app.callback(Output("panel", "children"), Output("settings", "data"),
                  Input("url", "search"), State("settings", "data"))
    def build_panel(search, stored):
        settings = Settings.from_query(_text(search, "url.search"))
        if stored is not None and _settings(stored) == settings:
            raise PreventUpdate
        try:
            return _panel(settings), _data(settings)
        except Exception as exc:  # the page keeps working; the server log has the traceback
            return [html.Div(_internal(exc), className="banner", id="panel-error"),
                    *hidden_fields()], _data(settings)

    @app.callback(Output("url", "search"), Output("settings", "data", allow_duplicate=True),
                  Input("scenario", "value"), Input("base", "value"), Input("rules", "value"),
                  Input({"type": "knob", "key": ALL}, "value"), Input("apply-extra", "n_clicks"),
                  Input("reset-button", "n_clicks"), State("extra", "value"),
                  State({"type": "knob", "key": ALL}, "id"), State("settings", "data"),
                  prevent_initial_call=True)
    def collect(scenario, base, rules, values, _apply, _reset, extra, ids, stored):
        if stored is None or scenario is None:
            raise PreventUpdate
        old = _settings(stored)
        scenario, base = _text(scenario, "scenario.value"), _text(base, "base.value")
        rules, extra = _texts(rules, "rules.value"), _text(extra, "extra.value")
        _need(isinstance(values, list) and isinstance(ids, list) and len(values) == len(ids)
              and all(isinstance(i, dict) and isinstance(i.get("key"), str) for i in ids),
              "knob values and ids: two lists of the same length, ids with a key")
        trigger = ctx.triggered_id
        if trigger == "reset-button":
            return Settings(old.scenario, old.base).query(), no_update
        if scenario != old.scenario:  # new fields: build_panel redraws them from the URL
            return Settings(scenario, base).query(), no_update
        defaults = knob_defaults(scenario)
        items = []
        try:
            rule_set = rules_item(cached_scenario(scenario), list(rules or []))
        except CapacityError:
            rule_set = None
        if rule_set is not None:
            items.append(rule_set)
        for i, v in zip(ids, values, strict=True):
            text = "" if v is None else str(v).strip()
            if text and not same_value(text, defaults.get(i["key"], ""), i["key"]):
                items.append(f"{i['key']}={text}")
        items += [line.strip() for line in (extra or "").splitlines() if line.strip()]
        new = Settings(scenario, base or None, tuple(items))
        if new == old:
            raise PreventUpdate
        return new.query(), _data(new)

    @app.callback(*(Output(i, p) for i, p in RESULT_OUTPUTS), Output("status", "children"),
                  Output("error", "children"), Output("cli-line", "children"),
                  Input("url", "search"))
    def show(search):
        settings = Settings.from_query(_text(search, "url.search"))
        cli = "" if REFUSED in (settings.scenario, settings.base) else \
            "same view in a terminal: capacity value " + " ".join(
                _quote(a) for a in settings.cli_args())
        t0 = time.perf_counter()
        try:
            ev, cached = evaluate(settings)
            drawn = None if ev.error else _drawn(ev)
        except Exception as exc:  # the page keeps working; the server log has the traceback
            return *_unchanged(), "not solved", _internal(exc), cli
        if ev.error:
            return (*_unchanged(), "not solved: fix the field marked in red (the results "
                    "shown are the last view that solved)", ev.error, cli)
        took = time.perf_counter() - t0
        status = (f"from the cache in {took:.3f} s (solved in {ev.seconds:.2f} s when first "
                  "asked)" if cached else f"re-solved in {ev.seconds:.2f} s")
        return (*drawn, html.Span(status, id="timing", **{"data-seconds": repr(
            ev.seconds), "data-cached": str(cached).lower()}), "", cli)

    @app.callback(Output({"type": "err", "key": ALL}, "children"), Input("settings", "data"),
                  State({"type": "err", "key": ALL}, "id"))
    def field_errors(stored, err_ids):
        """The error line beside the field it is about (the free --set lines otherwise)."""
        _need(isinstance(err_ids, list) and all(isinstance(i, dict) and isinstance(
            i.get("key"), str) for i in err_ids), "err ids: a list of ids with a key")
        keys = [i["key"] for i in err_ids]
        if stored is None:
            raise PreventUpdate
        try:
            ev, _ = evaluate(_settings(stored))
        except Exception:  # show() reports it
            return ["" for _ in keys]
        where = ev.error_key if ev.error_key in keys else "extra" if "extra" in keys else None
        return [ev.error if ev.error and k == where else "" for k in keys]

    @app.callback(Output("every", "children"), Input("url", "search"),
                  Input("show-every", "value"))
    def every(search, shown):
        if not shown:
            return []
        ev, _ = evaluate(Settings.from_query(_text(search, "url.search")))
        return [] if ev.error else every_table(ev)

    @app.callback(Output("stress-job", "data"), Output("stress-poll", "disabled"),
                  Output("stress-error", "children"), Input("stress-button", "n_clicks"),
                  State("url", "search"), State("stress-samples", "value"),
                  prevent_initial_call=True)
    def start(_n, search, samples):
        search = _text(search, "url.search")
        try:
            n = int(str(samples).strip())
        except ValueError:
            return no_update, True, f"draws: expected a whole number, got {samples!r}"
        try:
            return start_stress(Settings.from_query(search), n), False, ""
        except CapacityError as exc:
            return no_update, True, exc.one_line()

    @app.callback(Output("stress-progress", "children"), Output("stress", "children"),
                  Output("stress-poll", "disabled", allow_duplicate=True),
                  Input("stress-poll", "n_intervals"), State("stress-job", "data"),
                  prevent_initial_call=True)
    def poll(_n, job_id):
        job = stress_job(_text(job_id, "stress-job.data")) if job_id else None
        if job is None:
            return "", no_update, True
        if not job.finished:
            return f"running: {job.done} of {job.total} runs", no_update, False
        if job.error:
            return "", html.Div(job.error, className="banner"), True
        return (f"{job.samples} draws done in {job.seconds:.1f} s", stress_view(job.report),
                True)

    @app.callback(Output("download", "data"), Input("download-button", "n_clicks"),
                  State("settings", "data"), prevent_initial_call=True)
    def download(n, stored):
        if not n or stored is None:
            raise PreventUpdate
        settings = _settings(stored)
        try:
            text = settings.scenario_toml()
        except CapacityError as exc:
            text = f"# {exc.one_line()}\n"
        return dcc.send_string(text, f"{settings.scenario}-serve.toml")

    return app


def _drawn(ev) -> list:
    """:func:`capacity.app.page.results` of an evaluation, drawn once and kept with it (two
    threads may both draw a new one; either result is the same)."""
    if ev.drawn is None:
        ev.drawn = results(ev)
    return ev.drawn


@lru_cache(maxsize=64)
def _panel(settings: Settings) -> list:
    """:func:`capacity.app.page.panel` of settings, drawn once per settings (the scenario's
    defaults are kept by :func:`capacity.app.page.cached_scenario` for the life of the
    process too)."""
    return panel(settings)


def _unchanged() -> list:
    return [no_update for _ in RESULT_OUTPUTS]


def _internal(exc: Exception) -> str:
    """One line for an unexpected error (a bug, not the analyst's input); the traceback goes
    to the server's log only."""
    import traceback

    traceback.print_exc()
    return "internal error: " + " ".join(f"{type(exc).__name__}: {exc}".split())[:300]


def _quote(arg: str) -> str:
    from capacity.app.state import _shell

    return _shell(arg)


def _one_line(exc: BadRequest):
    """A 400 as one line of text (the page never sends what it answers)."""
    return f"bad callback request: {exc.description}\n", 400, {
        "Content-Type": "text/plain; charset=utf-8"}


def _need(ok: bool, what: str) -> None:
    """Refuse a callback value of the wrong type with a 400 (a request the page never sends),
    not a traceback and a 500."""
    if not ok:
        raise BadRequest(what)


def _text(value, name: str) -> str | None:
    _need(value is None or isinstance(value, str), f"{name}: expected text or null")
    return value


def _texts(value, name: str) -> list[str] | None:
    _need(value is None or (isinstance(value, list) and all(isinstance(x, str)
                                                           for x in value)),
          f"{name}: expected a list of text or null")
    return value


def _settings(data) -> Settings:
    """Settings from the ``settings`` store (sent back by the client: checked like a query
    string, :meth:`Settings.from_data`)."""
    _need(isinstance(data, dict), "settings.data: expected an object")
    scenario, base, sets = data.get("scenario"), data.get("base"), data.get("sets") or []
    _text(scenario, "settings.data.scenario")
    _text(base, "settings.data.base")
    _texts(sets, "settings.data.sets")
    return Settings.from_data(scenario, base, sets)


def _data(settings: Settings) -> dict:
    return {"scenario": settings.scenario, "base": settings.base, "sets": list(settings.sets)}
