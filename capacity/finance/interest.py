"""Interest expense: the reported quarters' figures and the forecast from a dated debt balance
times a dated rate, plus the debt that finances capex.

Pure functions of the disclosures a vintage can see; no files, no printing. Metrics of
disclosures.csv (money in the subject's reporting currency; units in brackets)::

    interest_expense_m  (span 1)   the quarter's interest expense            [m]
    debt_principal_m    (span 0)   debt at the quarter's end (else debt_total_m)  [m]

Rate (the latest quarter i with a reported interest expense, up to the base period)::

    D_avg = mean of the debt at the end of quarters i - 1 and i that the vintage can see  [m]
    r     = 4 * interest[i] / D_avg                                           [1/year]

Forecast (D0 the latest debt up to the base period, held until the first modelled quarter;
s = ``finance.debt_financed_capex_share``; capex_paid the plan's capex at order; t = 0 the
first modelled quarter)::

    debt[t]     = D0 + s * sum of capex_paid[u] for u < t                     [m]
    interest[t] = r / 4 * debt[t]      (start-of-quarter balance; no repayment modelled)  [m]

Without a debt balance or a rate the line is 0 (and the reason is stated in ``value.inputs``):
a subject's finance costs then stay within the other items (``non_operating_loss_m``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from capacity.batch import per_draw

INTEREST_METRIC = "interest_expense_m"
DEBT_METRICS = ("debt_principal_m", "debt_total_m")
"""Debt balances, the first preferred where a quarter has both."""
NO_DEBT_REASON = ("no interest_expense_m and debt_principal_m rows in disclosures.csv: "
                  "interest is not modelled apart (0); finance costs stay within the other "
                  "items, non_operating_loss_m")
NO_RATE_REASON = ("a debt balance but no interest_expense_m rows in disclosures.csv to give a "
                  "rate: interest is not modelled apart (0); finance costs stay within the "
                  "other items, non_operating_loss_m")


def no_interest_reason(debt0_m: float | None, rate_annual: float | None) -> str | None:
    """Why :func:`interest_array` gives 0 (the same test: no D0 or no r), or None when it
    models interest: :data:`NO_DEBT_REASON` without a debt balance, :data:`NO_RATE_REASON`
    with one but no rate."""
    if debt0_m is not None and rate_annual is not None:
        return None
    return NO_DEBT_REASON if debt0_m is None else NO_RATE_REASON


def reported_interest(disclosures: pd.DataFrame) -> pd.DataFrame:
    """Quarterly interest expense rows (span 1), the latest published per quarter: index
    ``period``; ``value`` [m], ``published``, ``source``."""
    d = disclosures[(disclosures["metric"] == INTEREST_METRIC)
                    & (disclosures["span_quarters"] == 1)]
    d = d.sort_values(["period", "published"], kind="stable").drop_duplicates(
        "period", keep="last")
    return d.set_index("period")[["value", "published", "source"]]


def debt_balances(disclosures: pd.DataFrame) -> pd.DataFrame:
    """Debt at quarter ends (:data:`DEBT_METRICS`, the first preferred), the latest published
    per quarter: index ``period``; ``value`` [m], ``metric``, ``published``, ``source``."""
    d = disclosures[disclosures["metric"].isin(DEBT_METRICS)].copy()
    d["rank"] = [DEBT_METRICS.index(m) for m in d["metric"]]
    d = d.sort_values(["period", "rank", "published"], ascending=[True, False, True],
                      kind="stable").drop_duplicates("period", keep="last")
    return d.set_index("period")[["value", "metric", "published", "source"]]


def debt_and_rate(disclosures: pd.DataFrame, base_period: pd.Period
                  ) -> tuple[float | None, float | None, tuple[dict, ...]]:
    """(D0 [m], r [1/year], dated rows ``name``, ``value``, ``unit``, ``period``,
    ``published``, ``source``) of the module docstring; None where not disclosed."""
    debt = debt_balances(disclosures)
    debt = debt[debt.index <= base_period]
    interest = reported_interest(disclosures)
    interest = interest[interest.index <= base_period]
    dated: list[dict] = []
    d0 = None
    if not debt.empty:
        at = debt.index[-1]
        d0 = float(debt["value"].iloc[-1])
        dated.append({"name": "debt_principal", "value": d0, "unit": "RMB m",
                      "period": str(at), "published": str(debt["published"].iloc[-1]),
                      "source": str(debt["source"].iloc[-1])})
    rate = None
    if not interest.empty:
        i = interest.index[-1]
        ends = [p for p in (i - 1, i) if p in debt.index]
        if ends:
            avg = float(np.mean([float(debt.at[p, "value"]) for p in ends]))
            if avg > 0:
                rate = 4.0 * float(interest["value"].iloc[-1]) / avg
                used = [interest.loc[i]] + [debt.loc[p] for p in ends]
                dated.append({
                    "name": "interest_rate", "value": rate, "unit": "share per year",
                    "period": str(i), "published": max(str(u["published"]) for u in used),
                    "source": (f"DERIVED: 4 x interest expense {interest.at[i, 'value']:g} "
                               f"({i}) / mean debt {avg:g} at the end of "
                               f"{', '.join(str(p) for p in ends)}; "
                               + "; ".join(dict.fromkeys(str(u["source"]) for u in used)))})
    return d0, rate, tuple(dated)


def debt_array(debt0_m: float, debt_share: float, capex_paid_m: np.ndarray
               ) -> np.ndarray:
    """debt[t] = D0 + s * sum of capex_paid[u] for u < t (module docstring). [m]

    ``capex_paid_m`` is (T,) or (B, T) for a batch of draws.
    """
    capex = np.asarray(capex_paid_m, float)
    before = np.cumsum(capex, axis=-1) - capex
    return per_draw(debt0_m) + per_draw(debt_share) * before


def interest_array(debt0_m: float | None, rate_annual: float | None, debt_share: float,
                   capex_paid_m: np.ndarray) -> np.ndarray:
    """interest[t] = r / 4 * debt[t] (:func:`debt_array`); 0 without D0 or r. [m/quarter]"""
    capex = np.asarray(capex_paid_m, float)
    if no_interest_reason(debt0_m, rate_annual) is not None:
        return np.zeros(np.shape(capex))
    return rate_annual / 4.0 * debt_array(debt0_m, debt_share, capex)
