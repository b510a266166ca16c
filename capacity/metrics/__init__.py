"""Every quantity reported after the solve, defined once.

Like a statistics accessor on a solved network: one function per reported quantity, taking the
solution's arrays and the plan's numbers and returning the quantity with its unit in brackets
and its equation in the docstring. The plan's tables (:mod:`capacity.planner.results`), stress
draws (:mod:`capacity.montecarlo.evaluate`), ``compare`` and the reports read these and derive no
figure themselves.

- :mod:`.fleet`: units in service, peak and effective compute, token capacity, power;
- :mod:`.work`: shortfall, inference compute, served compute;
- :mod:`.costs`: capex per purchase and as paid, running costs, straight-line charges;
- :mod:`.limits`: which rows bind (one relative tolerance);
- :mod:`.kpis`: the KPI list, as data.

The functions work on plain arrays (an optional leading batch axis is one row per stress
draw), so the planner's read-back can call them: this room sits just before the planner's.
"""
