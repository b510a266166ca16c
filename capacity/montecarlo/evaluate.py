"""One batch of draws: the fixed context, the batch's numbers, the LP re-solves, KPIs.

:func:`build_context` runs once per stress run: calibration, the existing fleet, the template
purchase LP (:func:`capacity.planner.build_model`) and what stays fixed about prices, caps and
power (:class:`capacity.planner.prices.PriceFrame`). :func:`evaluate_batch` then, for B draws at
once (a leading batch axis, :mod:`capacity.batch`; one draw is a batch of one),

1. sets each uncertain input to the array of its B values in a copy of the template inputs
   (``model_copy``: no re-validation; every input's smallest and largest draw was validated
   once up front);
2. derives demand with :func:`capacity.compute_demand.demand_arrays` and the LP numbers with the
   planner's own functions (``economic_numbers``, ``unit_price_m``, ``price_matrix``,
   ``unit_power_kw``, ``power_limit_mw``, ``licence_price_factor``);
3. renumbers the template model through the same family functions
   (:func:`capacity.planner.model.renumber`) and re-solves each draw in place
   (:class:`capacity.planner.solve.Resolver`, from the template's basis);
4. reads KPIs, the finance link and the P&L/DCF for the whole batch from the stacked
   solutions."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ValidationError

from capacity.errors import InputError
from capacity.montecarlo.draws import UncertainInput, _path, check_key
from capacity.scenarios import Scenario


@dataclass
class DrawContext:
    """Everything fixed across draws (picklable, sent once to each worker).

    Attributes
    ----------
    inputs
        The template inputs (validated once).
    paths, fee_rules, keys
        Where each uncertain value goes: a path in the inputs, or a rule's licence fee.
    frame
        Fixed part of prices and power (:class:`capacity.planner.prices.PriceFrame`).
    licence_rule
        Shape (T, C): the licence rule deciding each pair ("" where none). [id]
    cap0, cap_slopes, cap_base
        Purchase caps as an affine function of each uncertain base supply:
        cap = cap0 + sum_k slope_k (value_k - base_k). [units/quarter]
    model
        The template purchase LP.
    arrays
        The template's LP numbers (:class:`capacity.planner.data.PlanArrays`).
    """

    periods: list[str]
    chips: list[str]
    inputs: Any
    paths: list[tuple[Any, ...] | None]
    fee_rules: list[str | None]
    keys: list[str]
    frame: Any
    licence_rule: np.ndarray
    cap0: np.ndarray
    cap_slopes: dict[int, np.ndarray]
    cap_base: dict[int, float]
    demand_fixed: Any
    fleet_eflops: np.ndarray
    anchors: Any
    model: Any
    arrays: Any
    economics: Any
    peak_tflops: np.ndarray
    """Per chip (the plan's order). [TFLOPS/unit]"""
    labels: list[str]
    """Limit names (:func:`_limit_labels`), sorted."""
    label_families: list[str]
    """The group of each limit name (``export rule``, ``supply cap``, ``budget``, ...)."""
    label_of_row: np.ndarray
    kpi_quarter_index: dict[str, int]
    """KPI quarter (``horizon.kpi_quarters()``) -> position in ``periods``."""
    kpi_years: tuple[int, ...]
    """Years of the revenue KPIs (``horizon.kpi_years()``)."""
    years: np.ndarray
    quarter_no: np.ndarray
    year_layout: Any
    notes: list[str] = field(default_factory=list)
    specs: list[UncertainInput] = field(default_factory=list)
    duty_rates: dict[str, float] = field(default_factory=dict)
    """Duty rate of each rule whose revenue share is uncertain (it keeps its duty). [1]"""
    """The uncertain inputs (workers regenerate their draws from generator states)."""


def _set_path(tree: dict[str, Any], path: tuple[Any, ...], value: float) -> None:
    node = tree
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value


def _check_extremes(specs: list[UncertainInput], tree: dict[str, Any],
                    paths: list[tuple[Any, ...] | None], lo: np.ndarray, hi: np.ndarray) -> None:
    """Every input's smallest and largest draw must be valid (so every draw is)."""
    from capacity.schemas import Inputs

    for i, (s, p) in enumerate(zip(specs, paths, strict=True)):
        for v in (lo[i], hi[i]):
            if p is None:
                if not 0.0 <= v < 1.0:
                    raise InputError(f"uncertain.{s.key}", s.outside_range(v, "[0, 1)"))
                continue
            t2 = dict(tree)
            t2[p[0]] = copy.deepcopy(tree[p[0]])
            _set_path(t2, p, float(v))
            try:
                Inputs.model_validate(t2)
            except ValidationError as exc:
                raise InputError(f"uncertain.{s.key}", s.outside_range(
                    v, exc.errors()[0]["msg"])) from None


def _cap_slopes(scenario: Scenario, specs: list[UncertainInput], tree: dict[str, Any],
                paths: list[tuple[Any, ...] | None], lo: np.ndarray, hi: np.ndarray,
                gathered) -> tuple[dict[int, np.ndarray], dict[int, float]]:
    """How the purchase caps move with each uncertain base supply (probed at lo, mid, hi).

    The caps come from :func:`capacity.export_controls.availability` through
    :func:`capacity.planner.data.plan_data_from_scenario`, evaluated at three supplies; a cap
    that is not affine over the sampled range (a licence volume cap binds inside it) is an
    error.
    """
    from capacity.inputs import scenario_availability
    from capacity.planner.data import plan_data_from_scenario
    from capacity.schemas import Inputs

    data = gathered.data
    periods, chips = data.periods, list(data.chips)
    T, C = len(periods), len(chips)
    slopes: dict[int, np.ndarray] = {}
    base: dict[int, float] = {}
    supply = [i for i, s in enumerate(specs)
              if s.key.startswith("controls.base_supply_units_per_quarter.")]
    if not supply:
        return slopes, base
    probes = {}
    for name, pick in (("lo", lo), ("mid", (lo + hi) / 2), ("hi", hi)):
        t2 = copy.deepcopy(tree)
        for i in supply:
            _set_path(t2, paths[i], float(pick[i]))
        sc2 = scenario.with_inputs(Inputs.model_validate(t2))
        d2 = plan_data_from_scenario(sc2, gathered.existing_units, gathered.demand,
                                     scenario_availability(sc2))
        probes[name] = d2.cap_units.reindex(index=periods, columns=chips).to_numpy(float)
    for i in supply:
        chip = specs[i].key.rsplit(".", 1)[1]
        j = chips.index(chip)
        a, m, b = probes["lo"][:, j], probes["mid"][:, j], probes["hi"][:, j]
        span = hi[i] - lo[i]
        slope = np.zeros((T, C))
        if span > 0:
            s = (b - a) / span
            ok = np.isclose(m, a + s * (hi[i] - lo[i]) / 2, rtol=1e-9, atol=1e-9) | (
                np.isnan(a) & np.isnan(b))
            if not ok.all():
                raise InputError(f"uncertain.{specs[i].key}", "the purchase cap is not "
                                 "linear in this supply over the sampled range (a licence "
                                 "volume cap binds inside it); narrow the range")
            slope[:, j] = np.nan_to_num(s)
        slopes[i] = slope
        base[i] = float(scenario.inputs.controls.base_supply_units_per_quarter[chip])
    return slopes, base


def build_context(scenario: Scenario, specs: list[UncertainInput], lo: np.ndarray,
                  hi: np.ndarray, solver: str = "highs") -> DrawContext:
    """Prepare the fixed part of every draw (runs the calibration and builds the LP once).

    Parameters
    ----------
    scenario
        Validated scenario.
    specs
        Uncertain inputs.
    lo, hi
        Smallest and largest value each input takes in any draw (for the checks and the
        supply-cap probes).
    """
    from capacity import compute_demand as dm
    from capacity import finance
    from capacity.chips import usd_price_basis
    from capacity.planner import build_model, gather
    from capacity.planner.data import price_frame

    tree = scenario.inputs.model_dump()
    kinds = [check_key(s.key, scenario) for s in specs]
    cat = scenario.catalog
    usd = dict(zip(cat.index, usd_price_basis(cat["price_rmb"], cat["price_usd"], {}),
                   strict=True))
    for s in specs:  # a chip priced from the catalog in USD: vary that price
        if s.key.startswith("planner.price_usd.") and s.key.count(".") == 2:
            chip = s.key.rsplit(".", 1)[1]
            if chip not in tree["planner"]["price_usd"] and pd.notna(usd.get(chip, np.nan)):
                tree["planner"]["price_usd"][chip] = float(usd[chip])
    paths = [_path(tree, s.key) if k == "inputs" else None
             for s, k in zip(specs, kinds, strict=True)]
    fee_rules = [s.key.split(".")[1] if k == "fee" else None
                 for s, k in zip(specs, kinds, strict=True)]
    _check_extremes(specs, tree, paths, lo, hi)
    from capacity.schemas import Inputs

    template_inputs = Inputs.model_validate(tree)
    gathered = gather(scenario, solver)
    data = gathered.data
    periods, chips = data.periods, list(data.chips)
    T, C = len(periods), len(chips)
    notes: list[str] = []
    frame, _ = price_frame(scenario, gathered.availability)
    status = (data.status.reindex(index=periods, columns=chips).fillna("allowed").to_numpy()
              if data.status is not None else np.full((T, C), "allowed", dtype=object))
    rule = (data.rule.reindex(index=periods, columns=chips).fillna("").to_numpy()
            if data.rule is not None else np.full((T, C), "", dtype=object))
    licence_rule = np.where(status == "licence", rule, "").astype(str)
    for rid in {r for r in fee_rules if r}:
        if not (licence_rule == rid).any():
            notes.append(f"rules.{rid}.fee_revenue_share: the rule licenses nothing this "
                         "scenario can buy; its fee has no effect")
    slopes, base = _cap_slopes(scenario, specs, tree, paths, lo, hi, gathered)

    model = build_model(data, "npv")
    a = data.arrays
    rows = model.row_labels()
    t_of = {p: i for i, p in enumerate(periods)}
    rows["_t"] = [t_of.get(p, -1) if isinstance(p, pd.Period) else -1
                  for p in rows.get("period", pd.Series([None] * len(rows)))]
    model_rows = rows
    labels, label_families, label_of_row = _limit_labels(model_rows, status, rule, chips)

    fleet_eff = gathered.fleet_history["effective_eflops"]
    demand_fixed = dm.demand_fixed(scenario, fleet_eff)
    hz = scenario.inputs.horizon
    kpi_quarters = hz.kpi_quarters()
    kq = {q: i for i, q in enumerate(map(str, periods)) if q in kpi_quarters}
    anchors = finance.anchors_from_disclosures(scenario.disclosures)
    peak = data.peak_tflops.reindex(chips).to_numpy(float)
    return DrawContext(
        periods=[str(p) for p in periods], chips=chips, inputs=template_inputs, paths=paths,
        fee_rules=fee_rules, keys=[s.key for s in specs], frame=frame,
        licence_rule=licence_rule, cap0=a.cap_units, cap_slopes=slopes, cap_base=base,
        demand_fixed=demand_fixed,
        fleet_eflops=fleet_eff.reindex(periods).astype(float).to_numpy(), anchors=anchors,
        model=model, arrays=a, economics=data.economics, peak_tflops=peak, labels=labels,
        label_families=label_families, label_of_row=label_of_row, kpi_quarter_index=kq,
        kpi_years=hz.kpi_years(),
        years=np.array([p.year for p in periods]), quarter_no=dm.quarter_numbers(periods),
        year_layout=finance.year_layout(dm.quarter_numbers(periods), anchors), notes=notes,
        specs=list(specs),
        duty_rates={rid: float(scenario.all_rules()[rid].duty_rate) for rid in fee_rules if rid})


def _limit_labels(rows: pd.DataFrame, status: np.ndarray, rule: np.ndarray, chips: list[str]
                  ) -> tuple[list[str], list[str], np.ndarray]:
    """A limit name per LP row of a limit family (:data:`capacity.planner.registry.
    LIMIT_FAMILIES`): the export rule or supply cap of an access row, the budget year, power,
    rental; sorted, with the group each belongs to; -1 for rows that are not limits
    (fleet balance, work balances, demand).

    Returns
    -------
    (list of str, list of str, numpy.ndarray)
        Limit names, their groups (``export rule``, ``supply cap``, else the family's label),
        and each row's position among the names (-1 for none).
    """
    from capacity.planner import registry as reg

    ci = {c: j for j, c in enumerate(chips)}
    names: list[str | None] = []
    group: dict[str, str] = {}
    for fam, chip, t, year in zip(rows["family"], rows.get("chip", [None] * len(rows)),
                                  rows["_t"], rows.get("year", [None] * len(rows)),
                                  strict=True):
        f = reg.BY_NAME[fam]
        if not f.is_limit:
            names.append(None)
            continue
        if f is reg.ACCESS:
            c = ci[chip]
            st, rl = status[t, c], rule[t, c]
            kind = "export rule" if st in ("banned", "licence") and rl else "supply cap"
            name = f"{kind} {rl if kind == 'export rule' else chip}"
        else:
            kind = f.label
            name = f"{kind} {int(year)}" if "year" in f.index else kind
        group[name] = kind
        names.append(name)
    labels = sorted(group)
    pos = {n: i for i, n in enumerate(labels)}
    return labels, [group[n] for n in labels], np.array(
        [pos[n] if n is not None else -1 for n in names], np.int64)


def _copy_set(node: Any, path: tuple[Any, ...], value: float) -> Any:
    """``node`` with the value at ``path`` replaced, copying only the containers on the path
    (pydantic models by ``model_copy``: no re-validation)."""
    if not path:
        return value
    k, rest = path[0], path[1:]
    if isinstance(node, BaseModel):
        return node.model_copy(update={k: _copy_set(getattr(node, k), rest, value)})
    if isinstance(node, dict):
        out = dict(node)
        out[k] = _copy_set(node[k], rest, value)
        return out
    if isinstance(node, list | tuple):
        out = list(node)
        out[k] = _copy_set(node[k], rest, value)
        return type(node)(out) if isinstance(node, tuple) else out
    raise TypeError(f"cannot set {k!r} in {type(node).__name__}")


def draw_inputs(ctx: DrawContext, values: np.ndarray, label: str = "",
                only: str | None = None):
    """The inputs of one draw, or of a batch: the template with the draws' values set (no
    re-validation; the extremes of every input were validated in :func:`build_context`).

    Parameters
    ----------
    values
        One draw, shape (K,): each uncertain input is set to its float; or a batch, shape
        (B, K): each is set to the array of its B values (:mod:`capacity.batch`).
    only
        Set only the inputs under this top-level key (``finance``). [key]
    """
    inputs = ctx.inputs
    values = np.asarray(values, float)
    for i, p in enumerate(ctx.paths):
        if p is not None and (only is None or p[0] == only):
            v = values[..., i]
            inputs = _copy_set(inputs, p, float(v) if v.ndim == 0 else v)
    return inputs


def draw_arrays(ctx: DrawContext, inputs, values: np.ndarray, dem: dict[str, Any]):
    """The LP numbers of one draw or of a batch (:class:`capacity.planner.data.PlanArrays`),
    derived by the planner's own functions from the draws' inputs (:func:`draw_inputs`) and
    demand (:func:`demand_numbers`); for a batch (``values`` (B, K)) the numbers that vary
    carry the batch as their first axis."""
    from capacity.batch import number, per_draw, stack_last
    from capacity.export_controls import licence_price_factor
    from capacity.planner.data import economic_numbers, power_limit_mw

    values = np.asarray(values, float)
    pl = inputs.planner
    frame = ctx.frame
    pf = frame.price_factor
    if any(ctx.fee_rules):
        pf = np.array(np.broadcast_to(pf, values.shape[:-1] + pf.shape))
        for i, rid in enumerate(ctx.fee_rules):
            if rid:
                pf[..., ctx.licence_rule == rid] = per_draw(
                    licence_price_factor(values[..., i], ctx.duty_rates.get(rid, 0.0)))
    cap = ctx.cap0
    for i, slope in ctx.cap_slopes.items():
        cap = cap + slope * per_draw(values[..., i] - ctx.cap_base[i], 2)
    a = ctx.arrays
    nums = economic_numbers(pl, frame, ctx.economics, dem, pf)
    return replace(
        a, **nums, cap_units=cap, power_mw=power_limit_mw(frame, pl.datacenter_mw),
        budget_m=stack_last([pl.capex_budget_m[y] for y in a.budget_years]),
        electricity_per_kwh=number(pl.electricity_per_kwh),
        discount_rate_annual=number(pl.discount_rate_annual))


def demand_numbers(ctx: DrawContext, inputs) -> dict[str, Any]:
    """Demand of one draw over the planned quarters (:func:`capacity.compute_demand.demand_arrays`).

    Returns
    -------
    dict
        ``training_demand_eflops``, ``inference_demand_eflops`` (chosen method),
        ``leasing_demand_eflops`` [EFLOPS], ``genai_demand_m`` [RMB m],
        ``yield_m_per_eflops_quarter``, and the other
        columns of :func:`capacity.compute_demand.demand_table`.
    """
    from capacity.compute_demand import demand_arrays

    return demand_arrays(inputs.demand, ctx.demand_fixed, ctx.quarter_no, ctx.fleet_eflops)


def finance_numbers(ctx: DrawContext, fin, served_m: np.ndarray) -> dict[str, Any]:
    """GenAI revenue, share and EV/Sales target price of one draw or of a batch (``fin`` from
    :func:`draw_inputs`, ``served_m`` (T,) or (B, T)), by the array functions of
    :mod:`capacity.finance` that :func:`capacity.finance.finance_result` is built on.

    Returns
    -------
    dict
        ``genai_quarterly_m``, ``traditional_quarterly_m`` [RMB m], ``annual``
        (:func:`capacity.finance.annual_arrays`: complete years only) and
        ``target_price_ev_sales`` [HKD/share].
    """
    from capacity import finance as f

    rev = f.revenue_arrays(ctx.quarter_no, served_m, fin, ctx.anchors)
    annual = f.annual_arrays(ctx.year_layout, ctx.anchors, rev["genai_revenue_m"],
                             rev["revenue_m"])
    sales = f.year_sales(annual["year"], annual["revenue_m"], fin.valuation_year)
    val = f.value_from_sales(sales, fin.ev_sales_multiple, fin.net_cash_m, fin.shares_m,
                             fin.fx_listing)
    return {"genai_quarterly_m": rev["genai_revenue_m"], "annual": annual,
            "traditional_quarterly_m": rev["traditional_revenue_m"],
            "target_price_ev_sales": val.target_price}


def value_numbers(ctx: DrawContext, fin, a, model, buy: np.ndarray, rent_eflops: np.ndarray,
                  served_m: np.ndarray, traditional_revenue_m: np.ndarray,
                  target_price_ev_sales, units: np.ndarray | None = None) -> dict[str, Any]:
    """P&L, cash, DCF and target prices of one draw or of a batch (``buy`` (B, n), ``rent``
    (B, T)) by :func:`capacity.finance.value_arrays` (the function ``capacity value`` runs),
    from the draws' purchases and rented compute.

    capex_c = buy_c * price[t_c, c] paid in t_c - lead_c; power, maintenance and rental of
    units[t, c] = existing + the draw's purchases in service and of the rented compute, by
    :func:`capacity.planner.objective.period_costs` (as the plan's quarters report them).
    Every buy column is a cohort (the ones a draw did not buy have capex 0). ``units`` is the
    fleet in service when the caller has it (:func:`_units_in_service`).
    """
    from capacity import finance as f
    from capacity.metrics import costs as mc
    from capacity.planner.objective import period_costs
    from capacity.planner.periods import order_quarter

    bfam = model.family("buy")
    T = len(ctx.periods)
    capex = mc.capex_m(buy, a.price_m[..., bfam.t, bfam.c])
    paid = mc.capex_paid_m(capex, order_quarter(bfam.t, a.lead_quarters[bfam.c]), T)
    if units is None:
        units = _units_in_service(ctx, a, bfam, buy)
    costs = period_costs(a, units, rent_eflops)
    out = f.value_arrays(ctx.quarter_no, ctx.demand_fixed.base_qno, served_m,
                         traditional_revenue_m, bfam.t, capex, a.life_quarters[bfam.c],
                         paid, costs["power_cost_m"], costs["maintenance_m"],
                         costs["rental_cost_m"], fin, target_price_ev_sales,
                         ctx.anchors.drivers)  # the reported accounts' run-rates
    out["capex_paid_m"] = paid
    return out


def headline_price(a, fin, npv_m, served_m: np.ndarray, val: dict[str, Any]):
    """The headline target price of a draw or batch, as ``capacity value`` computes it: the
    fleet DCF (:func:`capacity.finance.fleet_dcf`) on the draw's fleet account
    (:func:`capacity.finance.fleet_account`: its NPV less the other cost of the revenue it
    serves, and the flows of its P&L the plan does not hold; ``served_m`` the plan's served
    revenue, ``val`` of :func:`value_numbers`). [HKD/share]"""
    from capacity import finance as f

    pnl = val["pnl"]
    acct = f.fleet_account(npv_m, val["cash"]["fcf_m"], served_m,
                           pnl["power_cost_m"], pnl["maintenance_m"],
                           pnl["rental_cost_m"], val["capex_paid_m"],
                           pnl["genai_other_cost_of_sales_m"], pnl["genai_revenue_m"],
                           a.discount_rate_annual)
    head = f.fleet_dcf(acct["value_m"], acct["flows_m"], a.discount_rate_annual,
                       fin.terminal_growth_annual, fin.tax_rate)
    return f.equity_and_target_price(head["ev_m"], fin.net_cash_m, fin.shares_m,
                                     fin.fx_listing)[1]


@dataclass
class BatchResult:
    """KPIs of one batch of draws (arrays, draw order)."""

    start: int
    kpis: dict[str, np.ndarray]
    series: dict[str, np.ndarray]
    binding: np.ndarray


def kpi_names(ctx: DrawContext) -> list[tuple[str, str]]:
    """(kpi, unit) in report order: :data:`capacity.metrics.kpis.STRESS_KPIS` at the KPI
    quarters and at the KPI years inside the horizon."""
    from capacity.metrics.kpis import STRESS_KPIS, expand

    years = set(int(y) for y in ctx.years)
    return [(n, u) for n, u, _, _ in expand(STRESS_KPIS, tuple(ctx.kpi_quarter_index),
                                            tuple(y for y in ctx.kpi_years if y in years))]


def _units_in_service(ctx: DrawContext, a, bfam, buy: np.ndarray) -> np.ndarray:
    """Units in service per draw, quarter and chip, shape (B, T, C)
    (:func:`capacity.metrics.fleet.units_in_service`). [units]"""
    from capacity.metrics import fleet as mf

    new = mf.new_units_in_service(len(ctx.periods), len(ctx.chips), buy, bfam.t, bfam.c,
                                  a.life_quarters[bfam.c])
    return mf.units_in_service(a.existing_units, new)


def evaluate_draw(ctx: DrawContext, resolver, values: np.ndarray, label: str
                  ) -> tuple[dict[str, float], dict[str, np.ndarray], np.ndarray]:
    """KPIs, per-quarter series and bound limits of one draw, re-solving on ``resolver``
    (a batch of one: :func:`evaluate_batch`)."""
    r = evaluate_batch(ctx, 0, np.asarray(values, float)[None, :], [label], resolver)
    k = {n: float(v[0]) for n, v in r.kpis.items() if np.isfinite(v[0])}
    return k, {n: v[0] for n, v in r.series.items()}, r.binding[0]


def _solve_all(ctx: DrawContext, resolver, model, labels: list[str]) -> dict[str, np.ndarray]:
    """Solve every draw of a batch-renumbered model from the template's basis, one after the
    other on the live HiGHS model; the solutions stacked by draw."""
    from capacity.planner.model import draw_of

    x, act, dual, obj = [], [], [], []
    for b, label in enumerate(labels):
        sol = resolver.solve(draw_of(model, b), what=f"purchase plan of {label}")
        x.append(sol.x)
        act.append(sol.row_activity)
        dual.append(sol.row_dual)
        obj.append(sol.objective)
    return {"x": np.stack(x), "row_activity": np.stack(act), "row_dual": np.stack(dual),
            "objective": np.array(obj, float)}


_RESOLVERS: dict[int, Any] = {}


def resolver_for(ctx: DrawContext):
    """This process's live HiGHS model of ``ctx``'s template (made on first use)."""
    from capacity.planner.solve import Resolver

    r = _RESOLVERS.get(id(ctx))
    if r is None or r.template is not ctx.model:
        _RESOLVERS.clear()
        r = _RESOLVERS[id(ctx)] = Resolver(ctx.model)
    return r


def evaluate_batch(ctx: DrawContext, start: int, rows: np.ndarray,
                   labels: list[str] | None = None, resolver=None,
                   paths: bool = False) -> BatchResult:
    """Evaluate consecutive draws ``start, start + 1, ...`` as one batch.

    Inputs, demand and the LP's numbers are computed for the whole batch at once (the
    planner's family functions over a batch axis, :mod:`capacity.batch`); each draw is then
    re-solved from the template's basis, so a result does not depend on the batch it is in;
    KPIs and binding limits are read for the whole batch from the stacked solutions.
    With ``paths``, ``series`` also carries :data:`PATH_SERIES` (the backtest's fan).
    """
    from capacity.metrics import costs as mc
    from capacity.metrics import fleet as mf
    from capacity.metrics import limits as ml
    from capacity.metrics import work as mw
    from capacity.planner.model import renumber
    from capacity.planner.objective import served_revenue_m

    rows = np.asarray(rows, float).reshape(len(rows), len(ctx.keys))
    B = len(rows)
    resolver = resolver or resolver_for(ctx)
    names = [n for n, _ in kpi_names(ctx)]
    kpis = {n: np.full(B, np.nan) for n in names}
    if B == 0:
        T = len(ctx.periods)
        return BatchResult(start, kpis, {n: np.zeros((0, T)) for n in SERIES},
                           np.zeros((0, len(ctx.labels)), bool))
    labels = labels or [f"draw {start + i}" for i in range(B)]
    inputs = draw_inputs(ctx, rows)
    dem = demand_numbers(ctx, inputs)
    a = draw_arrays(ctx, inputs, rows, dem)
    model = renumber(ctx.model, a)
    sol = _solve_all(ctx, resolver, model, labels)
    X = sol["x"]
    bfam = model.family("buy")
    buy = np.clip(X[:, model.columns_of("buy")], 0.0, None)
    units = _units_in_service(ctx, a, bfam, buy)
    peak = mf.peak_eflops(units, ctx.peak_tflops)
    eff = mf.effective_eflops(units, a.effective_per_unit)
    served = np.clip(X[:, model.cols.served], 0.0, None)  # (B, T, 3): training, leasing, tokens
    rent = np.clip(X[:, model.cols.rent[:, 0]], 0.0, None)
    short = mw.compute_shortfall_eflops(a.demand_training_eflops, served[..., 0],
                                        a.demand_leasing_eflops, served[..., 1])
    for q, i in ctx.kpi_quarter_index.items():
        kpis[f"peak_eflops_{q}"] = peak[:, i]
        kpis[f"effective_eflops_{q}"] = eff[:, i]
    kpis["npv_m"] = sol["objective"]
    kpis["total_shortfall_eflops_quarters"] = short.sum(axis=-1)
    capex = mc.capex_m(buy, a.price_m[..., bfam.t, bfam.c])
    kpis["total_capex_m"] = capex.sum(axis=-1)
    fin = inputs.finance
    f = finance_numbers(ctx, fin, served_revenue_m(a, served))
    annual = f["annual"]
    for i, y in enumerate(annual["year"].tolist()):
        if y in ctx.kpi_years:
            kpis[f"genai_revenue_m_{y}"] = annual["genai_revenue_m"][:, i]
            kpis[f"genai_share_{y}"] = annual["genai_share"][:, i]
    val = value_numbers(ctx, fin, a, model, buy, rent, f["genai_quarterly_m"],
                        f["traditional_quarterly_m"], f["target_price_ev_sales"], units)
    kpis["target_price"] = _per_batch(
        headline_price(a, fin, sol["objective"], served_revenue_m(a, served), val), B)
    kpis["target_price_ev_sales"] = _per_batch(f["target_price_ev_sales"], B)
    kpis["target_price_dcf"] = _per_batch(val["tp"]["dcf"], B)
    genai_q = np.broadcast_to(f["genai_quarterly_m"], (B, len(ctx.periods)))
    tight = ml.binding_mask(model.row_lower, model.row_upper, sol["row_activity"],
                            sol["row_dual"])
    binding = np.zeros((B, len(ctx.labels)), bool)
    lim = ctx.label_of_row >= 0
    for b in range(B):
        rws = ctx.label_of_row[tight[b] & lim]
        binding[b, rws] = True
    series = {"peak_eflops": peak, "effective_eflops": eff, "genai_revenue_m": genai_q}
    if paths:
        series.update(path_series(units, val["pnl"]))
    return BatchResult(start, kpis, series, binding)


PATH_SERIES = ("gpus_units", "revenue_m", "gross_profit_m", "net_loss_m",
               "adjusted_net_loss_m", "rd_opex_m", "sm_opex_m", "ga_opex_m")
"""Per-quarter series a batch adds with ``paths`` (the backtest's fan), shape (B, T) each."""

PNL_LINES = PATH_SERIES[1:]
"""Fan series that are lines of the one P&L (:func:`capacity.finance.pnl.pnl_arrays`), under
the P&L's own names."""


def path_series(units: np.ndarray, pnl: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """GPUs and the P&L lines of :data:`PNL_LINES` per draw and quarter, shape (B, T) each.

    gpus[t] = sum_c units[t, c] [units]; the rest are the draw's one P&L
    (``val["pnl"]`` of :func:`value_numbers`: revenue, gross profit, reported and adjusted net
    loss, R&D, S&M and G&A) [RMB m], so the backtest's bands come from the P&L ``capacity
    value`` reports.
    """
    B, T = units.shape[0], units.shape[1]
    out = {"gpus_units": units.sum(axis=-1)}
    for name in PNL_LINES:
        out[name] = np.array(np.broadcast_to(np.asarray(pnl[name], float), (B, T)))
    return out


SERIES = ("peak_eflops", "effective_eflops", "genai_revenue_m")
"""Per-quarter series a batch returns, shape (B, T) each."""


def _per_batch(x: Any, n: int) -> np.ndarray:
    """A KPI of every draw of a batch of ``n`` (one value repeated when no input moves it)."""
    return np.array(np.broadcast_to(np.asarray(x, float), (n,)))
