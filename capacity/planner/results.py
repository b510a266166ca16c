"""Read a solved purchase LP back into tidy, labelled tables."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from capacity import lp
from capacity.metrics import costs as mc
from capacity.metrics import fleet as mf
from capacity.metrics import work as mwork
from capacity.metrics.kpis import HORIZON_TOTALS, horizon_totals  # noqa: F401 (re-exported)
from capacity.planner.data import PlanData, buyable_index
from capacity.planner.model import Model
from capacity.planner.objective import (
    period_costs,
    residual_value_m,
    revenue_parts,
    running_cost_per_unit,
    served_revenue_m,
)
from capacity.planner.periods import discount_factor
from capacity.planner.solve import Solution
from capacity.results import money_text  # the binding units in the subject's currency

UNIT_TOL = 1e-6
"""Purchases below this many units are treated as zero. [units]"""


@dataclass
class Plan:
    """A solved purchase plan.

    Attributes
    ----------
    status
        The solver's model status of the solution read (``optimal``: any other status
        raises before a plan is read).
    objective
        Objective value: RMB m (npv, present value at the first planned quarter) or
        EFLOPS-quarters (max-compute).
    objective_name
        ``npv`` or ``max-compute``.
    quarters
        Per planned quarter: fleet, compute, work demanded and served (training, leasing,
        tokens), rented compute, revenue served, capex, opex, power.
    purchases
        One row per (delivery quarter, chip) with units > 0.
    fleet
        Installed units per quarter and chip (existing, new, total).
    binding
        Every binding limit with its shadow prices (:func:`binding_table`).
    purchase_value
        Per buyable (delivery quarter, chip): the net value of one more unit and its parts
        (:func:`capacity.planner.duals.purchase_value`).
    economics
        Per buyable (delivery quarter, chip): levelised cost per unit and per unit of work
        (:func:`chip_economics`).
    notes
        Things the analyst should know (chips not planned, power already exceeded, ...).
    """

    status: str
    objective: float
    objective_name: str
    solver: str
    quarters: pd.DataFrame
    purchases: pd.DataFrame
    fleet: pd.DataFrame
    binding: pd.DataFrame
    purchase_value: pd.DataFrame = field(default_factory=pd.DataFrame)
    economics: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    kpis: dict[str, float] = field(default_factory=dict)
    """Plan-level figures reported as scalars (:func:`plan_kpis`)."""
    inputs: Any = None
    """What :func:`capacity.planner.plan` gathered (``PlanInputs``: existing fleet history,
    demand, availability), so later steps reuse it instead of recomputing; None from
    ``solve_data`` alone."""


def capital_recovery_factor(rate_annual: float, periods_per_year: int, life_periods
                            ) -> np.ndarray:
    """Share of a price paid back each period over a life at the discount rate. [1/period]

        crf = r / (1 - (1 + r) ** -L),   r = (1 + rate) ** (1 / P) - 1   (1 / L when r = 0)
    """
    life = np.asarray(life_periods, float)
    r = (1.0 + rate_annual) ** (1.0 / periods_per_year) - 1.0
    if r == 0.0:
        return 1.0 / life
    return r / (1.0 - (1.0 + r) ** -life)


def chip_economics(data: PlanData) -> pd.DataFrame:
    """Why the plan buys what it buys: per buyable chip and delivery quarter, the levelised
    cost of one unit and what it buys of each kind of work.

        per_quarter = all_in x crf(life) + power + maintenance          [RMB m/(unit*quarter)]
        training    = per_quarter / k[c]        (training-fit chips)     [RMB m/EFLOPS-quarter]
        tokens      = per_quarter / tau[c]                              [RMB/m tokens]
        tokens/MW   = tau[c] / (kW[c] / 1000)                            [tn tokens/(MW*quarter)]
        tokens/s    = roofline x achieved share (PlanData.tokens_per_s)  [tokens/s/chip]

    (:func:`capital_recovery_factor`; RMB m per tn tokens is RMB per m tokens.)

    Returns
    -------
    pandas.DataFrame
        Columns ``period``, ``chip``, ``all_in_cost_m_per_unit``,
        ``cost_m_per_unit_quarter``, ``training_cost_m_per_eflops_quarter``,
        ``token_cost_per_m_tokens``, ``served_tokens_tn_tokens_per_mw_quarter``,
        ``token_price_per_m_tokens``, ``training_value_m_per_eflops_quarter``,
        ``tokens_per_s`` (NaN for a hand-built plan).
    """
    a = data.arrays
    c, t = buyable_index(a)
    crf = capital_recovery_factor(a.discount_rate_annual, a.periods_per_year,
                                  a.life_quarters[c])
    run = running_cost_per_unit(a)[c]
    price = a.price_m[t, c]
    per_q = price * crf + run
    k, tau, kw = a.effective_per_unit[c], a.tokens_per_unit_tn[c], a.power_kw[c]
    with np.errstate(divide="ignore", invalid="ignore"):
        out = pd.DataFrame({
            "period": a.periods[t], "chip": np.asarray(a.chips, object)[c],
            "all_in_cost_m_per_unit": price, "cost_m_per_unit_quarter": per_q,
            "training_cost_m_per_eflops_quarter": np.where(a.training_fit[c] & (k > 0),
                                                              per_q / k, np.nan),
            "token_cost_per_m_tokens": np.where(tau > 0, per_q / tau, np.nan),
            "served_tokens_tn_tokens_per_mw_quarter": np.where(kw > 0, tau / (kw / 1000.0), np.nan),
            "token_price_per_m_tokens": a.token_price_m_per_tn[t],
            "training_value_m_per_eflops_quarter": a.training_value_m[t],
            "tokens_per_s": (np.full(len(c), np.nan) if data.tokens_per_s is None else
                             data.tokens_per_s.reindex(a.chips).to_numpy(float)[c]),
        })
    return out.sort_values(["period", "chip"], kind="stable").reset_index(drop=True)


def binding_table(model: Model, sol: Solution, resolver=None) -> pd.DataFrame:
    """Binding limits and their shadow prices, verified on both sides, by row label.

    A row binds when its dual is non-zero and it has no slack (:func:`.duals.binding_rows`);
    the fleet-balance identities are not limits. Each binding row is moved a small step both
    ways on the live HiGHS model and re-solved (:func:`.duals.one_sided_prices`).

    Columns (prices in ``unit``: the objective's unit, RMB m or EFLOPS-quarters, per unit of
    the limit; the names carry no unit suffix since the unit varies by row):

    - ``constraint``, ``period`` (quarter, or year for a budget), ``chip`` ("" where none);
    - ``limit`` in ``limit_unit``: the limit as stated (power in MW, access in units a
      quarter, budget in RMB m, demand in EFLOPS), the constants the LP moved to the
      right-hand side (the existing fleet's draw or compute) added back;
    - ``set_key``: the ``--set`` key that moves it, "" where none does (filled by
      :func:`capacity.planner.plan` from the scenario);
    - ``shadow_price`` in ``unit``: objective gain per unit the limit is relaxed (one more
      unit of access, MW or RMB m of budget, one EFLOPS less demand), the ``side`` quoted;
    - ``side`` (``relax``), ``degenerate`` (the two sides differ, or where the limit cannot
      be tightened, the solver's dual differs from the relax side);
    - ``shadow_price_relax``, ``shadow_price_tighten`` (objective loss per unit
      tightened; NaN where tightening is infeasible), ``dual`` (the solver's dual in the
      same sign; ``purchase_value`` splits reduced costs with these);
    - ``name``: the row's export name.

    Parameters
    ----------
    resolver
        A :class:`~capacity.planner.solve.Resolver` holding ``model`` as its last model
        pushed (one is made when None and a row binds).
    """
    from capacity.planner import duals, registry
    from capacity.planner.model import row_names
    from capacity.planner.solve import Resolver

    unit, _ = duals.objective_unit(model)
    cols = ["constraint", "period", "chip", "limit", "limit_unit", "set_key",
            "shadow_price", "unit", "side", "degenerate", "shadow_price_relax",
            "shadow_price_tighten", "dual", "name"]
    rows = duals.binding_rows(model, sol.row_activity, sol.row_dual)
    if not len(rows):
        return pd.DataFrame(columns=cols)
    if resolver is None:
        resolver = Resolver(model, what="purchase plan (for shadow prices)")
    prices = duals.one_sided_prices(resolver, model, rows, sol.row_dual)
    fam_of = np.searchsorted([model.row_start[f.name] for f in model.rows], rows,
                             side="right") - 1
    records = []
    names: dict[str, list[str]] = {}
    for i, fi in zip(rows.tolist(), fam_of.tolist(), strict=True):
        fam = model.rows[fi]
        local = i - model.row_start[fam.name]
        if fam.name not in names:
            names[fam.name] = row_names(fam)
        lab = fam.labels.iloc[local]
        period = str(lab["period"]) if "period" in lab else str(lab["year"])
        records.append({
            "constraint": str(lab["constraint"]), "period": period,
            "chip": str(lab["chip"]) if "chip" in lab else "",
            "limit_unit": money_text(fam.unit), "set_key": "",
            "unit": money_text(registry.family(fam.name).dual_unit.replace(registry.OBJECTIVE,
                                                                           unit)),
            "name": names[fam.name][local]})
    out = pd.DataFrame(records)
    out["limit"] = prices["limit"].to_numpy()
    out["shadow_price"] = [lp.clean(v) for v in prices["price"]]
    out["side"] = prices["side"].to_numpy()
    out["degenerate"] = prices["degenerate"].to_numpy(bool)
    out["shadow_price_relax"] = [lp.clean(v) for v in prices["relax"]]
    out["shadow_price_tighten"] = [lp.clean(v) if np.isfinite(v) else np.nan
                                          for v in prices["tighten"]]
    out["dual"] = [lp.clean(v) for v in prices["dual"]]
    out = out[cols]
    return out.sort_values(["constraint", "period", "chip"], kind="stable").reset_index(drop=True)


def _grid_values(x: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Column values laid out on a grid of columns ((quarter, chip) or (quarter, workload));
    0 where a column is absent."""
    return np.where(grid >= 0, x[np.maximum(grid, 0)], 0.0)


PURCHASE_COLUMNS = ["period", "order_period", "chip", "units", "all_in_cost_m_per_unit",
                    "capex_m", "status", "rule", "committed", "source"]
"""Columns of :attr:`Plan.purchases`: the LP's purchases (``committed`` false) and the committed
orders delivered in the plan (``committed`` true, with their ``source``)."""


def _committed_rows(data: PlanData) -> list[dict]:
    """Rows of the purchases table for the committed orders (:attr:`PlanData.committed`).

    Their units are in the existing fleet, so their ``capex_m`` is 0: the cost of the
    existing fleet is its book value and its capital charge at reference prices, not plan
    capex (counting it here too would count it twice). The all-in cost per unit is shown
    where the chip has a price in the delivery quarter.
    """
    if data.committed is None:
        return []
    rows = []
    for r in data.committed.itertuples(index=False):
        price = (float(data.price_m.at[r.period, r.chip])
                 if r.chip in data.price_m.columns else np.nan)
        rows.append({"period": r.period, "order_period": r.order_period, "chip": r.chip,
                     "units": float(r.units), "all_in_cost_m_per_unit": price,
                     "capex_m": 0.0,
                     "status": "" if data.status is None or r.chip not in data.status.columns
                     else str(data.status.at[r.period, r.chip]),
                     "rule": "" if data.rule is None or r.chip not in data.rule.columns
                     else str(data.rule.at[r.period, r.chip]),
                     "committed": True, "source": str(r.source)})
    return rows


def extract(model: Model, data: PlanData, sol: Solution, ref_price_m: pd.Series | None,
            binding: pd.DataFrame, purchase_value: pd.DataFrame) -> Plan:
    """Tables of a solved plan; every figure recomputed from the column values of ``sol``.

    ``binding`` and ``purchase_value`` are those of the continuous LP the plan's economics were
    read from (:func:`capacity.planner.solve_data`): ``model`` itself, or its relaxation when
    ``sol`` buys whole lots.
    """
    buy_fam = model.family("buy")
    buy_units = sol.x[model.columns_of("buy")] * buy_fam.scale
    periods = data.periods
    chips = data.chips
    a = data.arrays
    units = np.array([lp.clean(float(x), UNIT_TOL) for x in buy_units])
    bought = np.flatnonzero(units > 0)
    rows = []
    for j in bought.tolist():
        c, t = buy_fam.labels["chip"].iloc[j], buy_fam.labels["period"].iloc[j]
        price = float(data.price_m.at[t, c])
        rows.append({
            "period": t, "order_period": data.order_period(c, t), "chip": c,
            "units": float(units[j]),
            "all_in_cost_m_per_unit": price,
            "capex_m": float(mc.capex_m(units[j], price)),
            "status": "" if data.status is None else str(data.status.at[t, c]),
            "rule": "" if data.rule is None else str(data.rule.at[t, c]),
            "committed": False, "source": "",
        })
    purchases = pd.DataFrame(rows + _committed_rows(data), columns=PURCHASE_COLUMNS)
    existing = data.existing_units
    new_grid = mf.new_units_in_service(len(periods), len(chips), units[bought],
                                       buy_fam.t[bought], buy_fam.c[bought],
                                       a.life_quarters[buy_fam.c[bought]])
    total_grid = mf.units_in_service(
        existing.reindex(index=periods, columns=chips).to_numpy(float), new_grid)
    new = pd.DataFrame(new_grid, index=periods, columns=chips)
    total = pd.DataFrame(total_grid, index=periods, columns=chips)
    fleet = pd.DataFrame({
        "existing_units": existing.stack(),
        "new_units": new.stack(),
        "units": total.stack(),
    })
    fleet.index.names = ["period", "chip"]
    fleet = fleet[fleet["units"] > UNIT_TOL].reset_index()

    served = _grid_values(sol.x, model.cols.served)
    rented = sol.x[model.cols.rent[:, 0]]
    dem = data.demand
    q = pd.DataFrame(index=periods)
    q["gpus_units"] = total_grid.sum(axis=1)
    q["new_units"] = new_grid.sum(axis=1)
    q["peak_eflops"] = mf.peak_eflops(total_grid, data.peak_tflops.reindex(chips).to_numpy(float))
    q["effective_eflops"] = mf.effective_eflops(total_grid, a.effective_per_unit)
    q["training_fit_eflops"] = mf.effective_eflops(
        total_grid, a.effective_per_unit * a.training_fit.astype(float))
    q["token_capacity_tn_tokens"] = mf.token_capacity_tn_tokens(total_grid,
                                                                a.tokens_per_unit_tn)
    q["training_demand_eflops"] = dem["training_demand_eflops"]
    q["training_served_eflops"] = [lp.clean(x) for x in served[:, 0]]
    q["rented_eflops"] = [lp.clean(x) for x in rented]
    q["training_shortfall_eflops"] = mwork.shortfall(q["training_demand_eflops"],
                                                  q["training_served_eflops"])
    q["leasing_demand_eflops"] = dem["leasing_demand_eflops"]
    q["leasing_served_eflops"] = [lp.clean(x) for x in served[:, 1]]
    q["leasing_shortfall_eflops"] = mwork.shortfall(q["leasing_demand_eflops"],
                                                 q["leasing_served_eflops"])
    q["demand_eflops"] = q["training_demand_eflops"] + q["leasing_demand_eflops"]
    q["shortfall_eflops"] = mwork.compute_shortfall_eflops(
        q["training_demand_eflops"], q["training_served_eflops"],
        q["leasing_demand_eflops"], q["leasing_served_eflops"])
    q["inference_demand_tn_tokens"] = dem["inference_tn_tokens"]
    q["inference_demand_eflops"] = a.demand_inference_eflops
    q["inference_served_tn_tokens"] = [lp.clean(x) for x in served[:, 2]]
    q["inference_shortfall_tn_tokens"] = mwork.shortfall(q["inference_demand_tn_tokens"],
                                                      q["inference_served_tn_tokens"])
    train_units, lease_units = (_grid_values(sol.x, g) for g in (model.cols.train,
                                                                 model.cols.lease))
    q["inference_served_eflops"] = mwork.inference_compute_eflops(
        total_grid - train_units - lease_units, a.effective_per_unit,
        a.tokens_per_unit_tn, q["inference_served_tn_tokens"].to_numpy(float))
    q["served_compute_eflops"] = mwork.served_compute_eflops(
        q["training_served_eflops"], q["leasing_served_eflops"], q["inference_served_eflops"])
    q["token_price_per_m_tokens"] = data.rates["token_price_per_m_tokens"]
    served_clean = q[["training_served_eflops", "leasing_served_eflops",
                      "inference_served_tn_tokens"]].to_numpy(float)
    for name, v in revenue_parts(a, served_clean).items():
        q[name] = v
    q["served_revenue_m"] = served_revenue_m(a, served_clean)
    q["training_value_m"] = q["training_served_eflops"] * a.training_value_m
    order_index = np.array([periods.get_loc(p) if p in periods else -1
                            for p in purchases["order_period"]], np.int64)
    q["capex_m"] = mc.capex_paid_m(purchases["capex_m"].to_numpy(float),
                                           order_index, len(periods))
    q["power_mw"] = mf.power_mw(total_grid, a.power_kw)
    q["power_limit_mw"] = data.power_mw.reindex(periods) if data.power_mw is not None \
        else np.nan
    for name, v in period_costs(a, total_grid, q["rented_eflops"].to_numpy(float)).items():
        q[name] = v
    q["opex_m"] = mc.opex_m(q["power_cost_m"], q["maintenance_m"],
                                    q["rental_cost_m"])
    dep = mc.straight_line_m(
        len(periods), np.asarray([periods.get_loc(t) for t in purchases["period"]], np.int64),
        purchases["capex_m"].to_numpy(float),
        data.life_quarters.reindex(purchases["chip"]).to_numpy(np.int64))
    if ref_price_m is not None:  # the existing fleet at reference prices, by chip life
        per_q = (ref_price_m.reindex(chips).fillna(0.0)
                 / data.life_quarters.reindex(chips))
        dep = dep + (existing * per_q).sum(axis=1).to_numpy()
    # not the P&L's depreciation (book value of the existing fleet, capacity.finance): the
    # charge of the whole fleet in service at cost (purchases) and at reference prices
    q["capital_charge_m"] = dep
    q.index.name = "period"

    notes = list(data.notes)
    if data.power_mw is not None:
        drawn = pd.Series(a.existing_power_mw, index=a.periods)
        for t in periods:
            mw = data.power_mw.get(t, np.nan)
            if not pd.isna(mw) and drawn[t] > mw + 1e-9:
                notes.append(f"{t}: existing fleet draws {drawn[t]:.1f} MW, "
                             f"above the {mw:.1f} MW limit; no new units fit")
    return Plan(status=sol.status, objective=sol.objective, objective_name=model.objective,
                solver=sol.solver, quarters=q, purchases=purchases, fleet=fleet,
                binding=binding, purchase_value=purchase_value,
                economics=chip_economics(data), notes=notes,
                kpis=plan_kpis(model, data, sol, purchases))


def plan_kpis(model: Model, data: PlanData, sol: Solution, purchases: pd.DataFrame
              ) -> dict[str, float]:
    """Plan-level figures a TCO analyst checks first.

        units_last_two_quarters_share = units delivered in T-2, T-1 / all units bought
        residual_value_m = sum_{c,t} residual[c, t] df(T) buy[c, t]
        residual_share_of_npv = residual_value_m / NPV

    (:func:`capacity.metrics.fleet.units_last_quarters_share`, residual from
    :func:`capacity.planner.objective.residual_value_m`; the residual share only for the
    ``npv`` objective). Committed orders are not the plan's purchases and are left out.
    """
    periods = data.periods
    own = purchases[~purchases["committed"].astype(bool)]
    t = np.array([periods.get_loc(p) for p in own["period"]], np.int64)
    out = {"units_last_two_quarters_share": mf.units_last_quarters_share(
        t, own["units"].to_numpy(float), len(periods), 2)}
    if model.objective == "npv":
        a = data.arrays
        buy = model.family("buy")
        x = sol.x[model.columns_of("buy")]
        df_end = discount_factor(len(periods), a.discount_rate_annual, a.periods_per_year)
        residual = float((residual_value_m(a, buy) * buy.scale * df_end) @ x)
        out["residual_value_m"] = residual
        out["residual_share_of_npv"] = mc.share_of_npv(residual, sol.objective)
    return out


SHADOW_TOL = 1e-9
"""A limit with a shadow price above this is taken as binding when explaining a shortfall.
[RMB m per unit of the limit]"""


def unmet_training(quarters: pd.DataFrame, binding: pd.DataFrame, runs: pd.DataFrame,
                   data: PlanData) -> pd.DataFrame:
    """Every planned training run left partly unmet, with the limits that leave it so.

    A quarter's shortfall is shared among the runs active in it by their compute:

        unmet[r] = sum_{t in run r} shortfall[t] x eflops[r] / D_train[t]   [EFLOPS-quarters]

    The reason lists, for the quarters with a shortfall, the binding limits (shadow price above
    :data:`SHADOW_TOL`) that stop more training: the rental cap in that quarter, access caps of
    training-fit chips delivered by then, capex budgets of the years to then, power by then;
    with none, the quarter is before any order the plan can place arrives, or serving the
    rest is worth less than it costs.

    Returns
    -------
    pandas.DataFrame
        ``run``, ``start``, ``end``, ``demand_eflops_quarters``, ``unmet_eflops_quarters``,
        ``unmet_share``, ``reason`` (one row per run with unmet compute).
    """
    short = quarters["training_shortfall_eflops"]
    dem = quarters["training_demand_eflops"]
    fit = {c for c in data.chips if bool(data.training_fit.get(c, False))}
    first = data.first_order_period if data.first_order_period is not None else data.periods[0]
    lead = min((int(data.lead_quarters[c]) for c in fit), default=0)
    rows = []
    for r in runs.itertuples(index=False):
        span = [t for t in quarters.index if r.start <= str(t) <= r.end]
        unmet = {t: float(short[t] * r.effective_eflops / dem[t]) for t in span
                 if short[t] > mwork.SHORTFALL_TOL_EFLOPS and dem[t] > 0}
        if not unmet:
            continue
        total = float(r.effective_eflops) * len(span)
        rows.append({"run": r.name, "start": r.start, "end": r.end,
                     "demand_eflops_quarters": total,
                     "unmet_eflops_quarters": sum(unmet.values()),
                     "unmet_share": sum(unmet.values()) / total if total else np.nan,
                     "reason": _shortfall_reason(sorted(unmet), binding, fit, first + lead)})
    return pd.DataFrame(rows, columns=["run", "start", "end", "demand_eflops_quarters",
                                       "unmet_eflops_quarters", "unmet_share", "reason"])


def _shortfall_reason(quarters: list[pd.Period], binding: pd.DataFrame, fit: set[str],
                      first_delivery: pd.Period) -> str:
    """The binding limits behind a training shortfall in ``quarters``, in words."""
    b = binding[binding["shadow_price"].abs() > SHADOW_TOL]
    last = max(quarters)
    period = b["period"].astype(str)
    parts = []
    rent = b[(b["constraint"] == "rental") & period.isin([str(t) for t in quarters])]
    if len(rent):
        parts.append("rented compute at its cap in " + ", ".join(rent["period"].astype(str)))
    acc = b[(b["constraint"] == "access") & b["chip"].isin(fit) & (period <= str(last))]
    if len(acc):
        parts.append("training-fit chips at their access or supply cap ("
                     + ", ".join(sorted(set(acc["chip"]))) + ")")
    bud = b[(b["constraint"] == "budget") & (period <= str(last.year))]
    if len(bud):
        parts.append("capex budget of " + ", ".join(sorted(set(bud["period"].astype(str)))))
    pw = b[(b["constraint"] == "power") & (period <= str(last))]
    if len(pw):
        parts.append("data-centre power")
    if min(quarters) < first_delivery:
        parts.append(f"no order the plan can place arrives before {first_delivery} "
                     "(orders start in the vintage quarter)")
    where = ", ".join(str(t) for t in quarters)
    if not parts:
        return f"in {where}: serving the rest is worth less than it costs"
    return f"in {where}: " + "; ".join(parts)
