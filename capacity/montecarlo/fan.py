"""The fan of one vintage: per-draw quarterly paths of the backtest's metrics.

The backtest's prediction intervals come from the stress machinery: each vintage's uncertain
inputs (``data/backtest_uncertain.toml``, read by :func:`vintage_specs`) are drawn from one
seed (:func:`capacity.montecarlo.sample_draws`), and every draw is run through the same
pipeline as ``capacity stress`` (:func:`capacity.montecarlo.build_context` once, then
:func:`capacity.montecarlo.evaluate_batch` with ``paths``): demand, the purchase LP re-solved
from the template's basis, the finance link. What comes back is each draw's path, not a band,
so that a half-year's sum or a ratio of sums is taken per draw before the percentiles
(the 10th percentile of a sum is not the sum of the 10th percentiles).

The uncertain table
-------------------
Each entry is a distribution (as in a scenario's ``[uncertain]``, :mod:`capacity.montecarlo`)
of a **factor** on the vintage's own value (``apply = "times"``, p50 = 1) or of a **shift**
added to it (``apply = "plus"``, p50 = 0), so that every vintage is drawn around its own
inputs. A key ending in ``.*`` stands for every entry of that map from the year of the first
planned quarter on (``demand.revenue.growth_by_year.*``: each forecast year, drawn
independently).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from capacity.errors import InputError
from capacity.montecarlo.draws import UncertainInput, parse_uncertain, sample_draws
from capacity.montecarlo.evaluate import build_context, evaluate_batch
from capacity.montecarlo.run import batch_size_for
from capacity.scenarios import Scenario

UNCERTAIN_FILE = "backtest_uncertain.toml"
"""The backtest's uncertain inputs, in the data folder."""

DEFAULT_SAMPLES = 200
"""Draws per vintage of ``capacity backtest --rolling`` (the 10th and 90th percentiles of 200
draws move by about 2 percentiles' worth between seeds; a vintage takes a few seconds)."""

FAN_SERIES = ("gpus_units", "peak_eflops", "revenue_m", "genai_revenue_m",
              "gross_profit_m", "net_loss_m", "adjusted_net_loss_m", "rd_opex_m",
              "sm_opex_m", "ga_opex_m")
"""Per-quarter series of a fan (shape (N, T) each)."""


@dataclass
class Fan:
    """Per-draw quarterly paths of one vintage.

    Attributes
    ----------
    periods
        The planned quarters (``2024Q1``), the columns of every series.
    series
        :data:`FAN_SERIES` -> array (draws, quarters) in the series' unit ([units], [EFLOPS],
        [RMB m]).
    specs
        The uncertain inputs as drawn (absolute values, this vintage's).
    notes
        What was left out (a key the vintage does not have).
    """

    periods: list[str]
    series: dict[str, np.ndarray]
    specs: list[UncertainInput]
    notes: list[str]


def read_uncertain_table() -> dict[str, Any]:
    """The ``[uncertain]`` table of ``data/backtest_uncertain.toml`` (empty when absent)."""
    from capacity.scenarios.files import data_dir, read_toml

    path = data_dir() / UNCERTAIN_FILE
    if not path.exists():
        return {}
    doc = read_toml(path)
    table = doc.get("uncertain", {})
    if not isinstance(table, dict):
        raise InputError(f"{path}: uncertain", "must be a table of distributions")
    return table


def _value_at(tree: dict[str, Any], key: str) -> Any:
    node: Any = tree
    for part in key.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, dict) and part.isdigit() and int(part) in node:
            node = node[int(part)]
        else:
            return None
    return node


def _scaled(spec: UncertainInput, key: str, value: float, how: str) -> UncertainInput:
    """The distribution of ``value`` x factor (``times``) or ``value`` + shift (``plus``)."""
    p = spec.params
    if how == "plus":
        if spec.dist == "normal":
            return UncertainInput(key, spec.dist, (value + p[0], p[1]))
        return UncertainInput(key, spec.dist, tuple(value + x for x in p))
    if spec.dist == "normal":
        return UncertainInput(key, spec.dist, (value * p[0], abs(value) * p[1]))
    vals = tuple(value * x for x in p)
    return UncertainInput(key, spec.dist, vals if value >= 0 else tuple(reversed(vals)))


def vintage_specs(scenario: Scenario, table: dict[str, Any] | None = None
                  ) -> tuple[list[UncertainInput], list[str]]:
    """The vintage's uncertain inputs: each entry of the table around the vintage's value.

    Parameters
    ----------
    scenario
        The vintage (validated).
    table
        An ``[uncertain]`` table of factors and shifts (default :func:`read_uncertain_table`).

    Returns
    -------
    (list of UncertainInput, list of str)
        Absolute distributions (factor x value, or value + shift; a negative value turns a
        factor's range around), and notes on entries the vintage has no value for.
    """
    table = read_uncertain_table() if table is None else table
    tree = scenario.inputs.model_dump()
    first_year = (scenario.inputs.horizon.base + 1).year
    out: list[UncertainInput] = []
    notes: list[str] = []
    for key, raw in table.items():
        if not isinstance(raw, dict):
            raise InputError(f"{UNCERTAIN_FILE}: uncertain.{key}", "must be a table like "
                             "{p5 = 0.5, p50 = 1, p95 = 1.5, apply = \"times\"}")
        raw = dict(raw)
        how = raw.pop("apply", "times")
        if how not in ("times", "plus"):
            raise InputError(f"{UNCERTAIN_FILE}: uncertain.{key}.apply",
                             f"{how!r} is not 'times' or 'plus'")
        spec = parse_uncertain({key: raw}, f"{UNCERTAIN_FILE}: uncertain")[0]
        if key.endswith(".*"):
            node = _value_at(tree, key[:-2])
            keys = [f"{key[:-2]}.{k}" for k in (node or {})
                    if str(k)[:4].isdigit() and int(str(k)[:4]) >= first_year]
        else:
            keys = [key]
        for k in keys:
            value = _value_at(tree, k)
            if not isinstance(value, int | float) or isinstance(value, bool) or \
                    not math.isfinite(value):
                notes.append(f"{k}: no number in this vintage, not drawn")
                continue
            out.append(_scaled(spec, k, float(value), how))
    return out, notes


def vintage_fan(scenario: Scenario, samples: int = DEFAULT_SAMPLES, seed: int = 0,
                specs: list[UncertainInput] | None = None,
                progress: Callable[[int, int], None] | None = None,
                solver: str = "highs") -> Fan:
    """Draw the vintage's uncertain inputs and run each draw through plan and finance.

    Parameters
    ----------
    scenario
        The vintage.
    samples
        Draws N (at least 1).
    seed
        Seed of ``numpy.random.default_rng`` (same seed, same fan).
    specs
        Uncertain inputs (default :func:`vintage_specs`).
    progress
        Called with (draws done, N) after each batch.

    Returns
    -------
    Fan
        Per-draw paths over the planned quarters.
    """
    if samples < 1:
        raise InputError("--samples", f"{samples} draws: need at least 1")
    notes: list[str] = []
    if specs is None:
        specs, notes = vintage_specs(scenario)
    if not specs:
        raise InputError(UNCERTAIN_FILE, "no uncertain input applies to this vintage")
    rows = sample_draws(specs, samples, seed)
    ctx = build_context(scenario, specs, rows.min(axis=0), rows.max(axis=0), solver)
    size = batch_size_for(samples)
    parts: dict[str, list[np.ndarray]] = {n: [] for n in FAN_SERIES}
    for start in range(0, samples, size):
        r = evaluate_batch(ctx, start, rows[start:start + size], paths=True)
        for n in FAN_SERIES:
            parts[n].append(r.series[n])
        if progress:
            progress(min(samples, start + size), samples)
    return Fan(periods=list(ctx.periods),
               series={n: np.concatenate(v, axis=0) for n, v in parts.items()},
               specs=specs, notes=notes + list(ctx.notes))
