"""The power limit from a subject's dated power disclosures (``planner.power_ramp``).

Pure functions of the disclosures a vintage can see (rows published by its date) and the
ramp's stated assumption; no files, no printing. Knots (quarter, MW), from disclosures.csv::

    (q_A, A)   the latest ``active_power_mw`` row (latest period, then latest published)
    (q_g, G)   each ``active_power_guidance_mw`` row with q_A < q_g < q_C (the latest
               published per period): the company's own path between
    (q_C, C)   q_C = ``planner.power_ramp.contracted_by`` (the subject's assumption),
               C = the latest ``contracted_power_mw`` row [MW]

    power[q] = linear interpolation of the knots by quarter, q_A <= q <= q_C     [MW]

One ``planner.datacenter_mw`` step per quarter from q_A to q_C; the last step holds after q_C.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from capacity.errors import InputError

ACTIVE_METRIC = "active_power_mw"
GUIDANCE_METRIC = "active_power_guidance_mw"
CONTRACTED_METRIC = "contracted_power_mw"
_WHERE = "planner.power_ramp"


def _latest_rows(disclosures: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The rows of ``metric``, the latest published per period, sorted by period."""
    d = disclosures[disclosures["metric"] == metric]
    d = d.sort_values(["period", "published"], kind="stable")
    return d.drop_duplicates("period", keep="last")


def power_knots(disclosures: pd.DataFrame, contracted_by: str) -> pd.DataFrame:
    """The ramp's knots (module docstring): ``period``, ``value_mw`` [MW], ``metric``,
    ``published``, ``source``; sorted by period.

    Raises
    ------
    InputError
        No active or contracted power disclosed by the vintage date; ``contracted_by`` not
        after the active power's quarter; contracted power below active power.
    """
    active = _latest_rows(disclosures, ACTIVE_METRIC)
    contracted = _latest_rows(disclosures, CONTRACTED_METRIC)
    if active.empty or contracted.empty:
        missing = ACTIVE_METRIC if active.empty else CONTRACTED_METRIC
        raise InputError(_WHERE, f"needs {missing} rows in disclosures.csv published by the "
                                 "vintage date (none found)")
    a = active.iloc[-1]
    c = contracted.iloc[-1]
    end = pd.Period(contracted_by, freq="Q")
    if end <= a["period"]:
        raise InputError(f"{_WHERE}.contracted_by", f"{end} is not after the latest active "
                                                    f"power's quarter {a['period']}")
    if float(c["value"]) < float(a["value"]):
        raise InputError(_WHERE, f"contracted power {c['value']} MW ({c['period']}) is below "
                                 f"active power {a['value']} MW ({a['period']})")
    guide = _latest_rows(disclosures, GUIDANCE_METRIC)
    guide = guide[(guide["period"] > a["period"]) & (guide["period"] < end)]
    rows = [{**a.to_dict(), "period": a["period"]}]
    rows += [r.to_dict() for _, r in guide.iterrows()]
    rows.append({**c.to_dict(), "period": end})
    out = pd.DataFrame(rows)
    out = out.rename(columns={"value": "value_mw"})
    out["value_mw"] = out["value_mw"].astype(float)
    return out[["period", "value_mw", "metric", "published", "source"]].reset_index(drop=True)


def power_ramp_mw(disclosures: pd.DataFrame, contracted_by: str
                  ) -> tuple[dict[str, float], dict[str, str]]:
    """One power step per quarter from the latest active power to ``contracted_by``.

    Parameters
    ----------
    disclosures
        The disclosures the vintage can see (``period`` quarters, ``metric``, ``value``,
        ``published``, ``source``).
    contracted_by
        Quarter by which all contracted power is available. [quarter]

    Returns
    -------
    tuple
        (``{quarter: MW}`` steps, rounded to 0.001 MW [MW]; ``{"planner.datacenter_mw.<q>":
        source}``: the knots each step lies between, with their publication dates)
    """
    knots = power_knots(disclosures, contracted_by)
    kq = np.array([p.ordinal for p in knots["period"]], float)
    kv = knots["value_mw"].to_numpy(float)
    quarters = pd.period_range(knots["period"].iloc[0], knots["period"].iloc[-1], freq="Q")
    values = np.interp([p.ordinal for p in quarters], kq, kv)
    steps, sources = {}, {}
    for q, v in zip(quarters, values, strict=True):
        i = int(np.searchsorted(kq, q.ordinal, side="right")) - 1
        lo = knots.iloc[i]
        hi = knots.iloc[min(i + 1, len(knots) - 1)]
        steps[str(q)] = round(float(v), 3)
        if lo["period"] == q or i == len(knots) - 1:
            how = (f"{lo['metric']} {lo['value_mw']:g} MW at {lo['period']}"
                   if lo["metric"] != CONTRACTED_METRIC else
                   f"{CONTRACTED_METRIC} {lo['value_mw']:g} MW, all available by {q} "
                   f"({_WHERE}.contracted_by)")
            src = f"{how} (published {lo['published']}: {lo['source']})"
        else:
            src = (f"linear between {lo['metric']} {lo['value_mw']:g} MW at {lo['period']} "
                   f"(published {lo['published']}) and {hi['metric']} {hi['value_mw']:g} MW "
                   f"at {hi['period']} (published {hi['published']}; {_WHERE})")
        sources[f"planner.datacenter_mw.{q}"] = src
    return steps, sources
