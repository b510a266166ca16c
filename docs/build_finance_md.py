"""Regenerate the generated blocks of docs/finance.md from the code: ``python
docs/build_finance_md.py``.

Each block sits between ``<!-- generated: NAME -->`` and ``<!-- end: NAME -->``; a test
(tests/test_finance_doc.py) fails when one is out of date. Blocks:

- ``accounts``: the reported half-years the P&L's history rows come from
  (:func:`capacity.finance.reported_halves`), with the derived lines.
- ``vintages``: per vintage, the model's revenue, gross margin and adjusted net loss for the two
  calendar years after its base year (``capacity value --as-of DATE --format json``, table
  ``pnl``), and the reported half-year its run-rates come from.
- ``scenarios``: the 1H23 vintage's shipped scenarios (``capacity value -s NAME``).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent / "finance.md"
SCENARIOS = ("history", "no-2023-update", "h200-opens-2026", "h20-ban-stays",
             "domestic-squeeze", "embargo-2024")


def _m(x: float) -> str:
    return f"{x:,.1f}"


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def accounts_block() -> str:
    """The reported half-years (every one published; a vintage sees those published by its
    date)."""
    from capacity.finance import reported_halves
    from capacity.scenarios import read_disclosures

    h = reported_halves(read_disclosures())
    lines = ["| half-year end | revenue | GenAI | gross margin | cost of sales | R&D | S&M | G&A |"
             " other items | net loss | adjustments | adjusted net loss |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]

    def cell(v: float, f=_m) -> str:
        return "n/a" if v != v else f(v)

    for p, r in h.iterrows():
        lines.append("| " + " | ".join([
            str(p), cell(r["revenue_m"]), cell(r["genai_revenue_m"]),
            cell(r["gross_margin"], _pct), cell(r["cost_of_sales_m"]),
            cell(r["rd_opex_m"]), cell(r["sm_opex_m"]), cell(r["ga_opex_m"]),
            cell(r["non_operating_loss_m"]), cell(r["net_loss_m"]),
            cell(r["adjustments_m"]), cell(r["adjusted_net_loss_m"])]) + " |")
    return "\n".join(lines)


def vintage_rows() -> list[dict]:
    """Per vintage and year (the two after the base year): the model's revenue, gross margin,
    net loss and adjusted net loss [RMB m; share], and the TP."""
    from capacity.run import value_report
    from capacity.scenarios import load_scenario, vintage_dates

    rows = []
    for when in vintage_dates():
        sc = load_scenario(None, as_of=when)
        rep = value_report(sc)
        pnl = rep.tables["pnl"]
        base = sc.inputs.horizon.base
        for y in (base.year + 1, base.year + 2):
            if y not in pnl.index:
                continue
            r = pnl.loc[y]
            rows.append({"vintage": when.isoformat(), "base": str(base), "year": int(y),
                         "revenue_m": float(r["revenue_m"]),
                         "gross_margin": float(r["gross_margin"]),
                         "net_loss_m": float(r["net_loss_m"]),
                         "adjusted_net_loss_m": float(r["adjusted_net_loss_m"]),
                         "target_price": float(rep.scalars["target_price"])})
    return rows


def vintages_block() -> str:
    lines = ["| vintage | base | year | revenue | gross margin | net loss | adjusted net loss |"
             " target_price |", "|---|---|---|---|---|---|---|---|"]
    for r in vintage_rows():
        lines.append(f"| {r['vintage']} | {r['base']} | {r['year']} | "
                     f"{_m(r['revenue_m'])} | {_pct(r['gross_margin'])} | "
                     f"{_m(r['net_loss_m'])} | {_m(r['adjusted_net_loss_m'])} | "
                     f"{r['target_price']:.3f} |")
    return "\n".join(lines)


def scenarios_block() -> str:
    from capacity.run import value_report
    from capacity.scenarios import load_scenario

    lines = ["| scenario | target_price_ev_sales | target_price_dcf | gross margin 2025 |"
             " adjusted net loss 2025 | runway (quarters) |", "|---|---|---|---|---|---|"]
    for name in SCENARIOS:
        rep = value_report(load_scenario(name))
        s, pnl = rep.scalars, rep.tables["pnl"]
        lines.append(f"| {name} | {s['target_price_ev_sales']:.3f} | "
                     f"{s['target_price_dcf']:.3f} | {_pct(pnl.at[2025, 'gross_margin'])} | "
                     f"{_m(pnl.at[2025, 'adjusted_net_loss_m'])} | "
                     f"{s['runway_quarters']} |")
    return "\n".join(lines)


BLOCKS = {"accounts": accounts_block, "vintages": vintages_block, "scenarios": scenarios_block}


def render(text: str) -> str:
    """``text`` with every generated block replaced by its current content."""
    for name, make in BLOCKS.items():
        rx = re.compile(rf"(<!-- generated: {name} -->\n)(?:.*?\n)?(<!-- end: {name} -->)",
                        re.S)
        if not rx.search(text):
            raise SystemExit(f"docs/finance.md: no generated block {name!r}")
        body = make()
        text = rx.sub(lambda m, body=body: m.group(1) + body + "\n" + m.group(2), text)
    return text


if __name__ == "__main__":
    sys.path.insert(0, str(OUT.parent.parent))
    OUT.write_text(render(OUT.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"wrote {OUT}")
