"""The registry of the purchase LP's constraint families: what each family's rows are.

Each family declares its name (the ``constraint`` / ``family`` label of its rows), a label for
outputs, the index of its rows, the unit of its right-hand side, its role and what its dual
means. The row builders (:mod:`.constraints`) take their names and units from here; the readers
of a solution (shadow prices, binding limits in plan, compare and stress, the purchase-value
split) ask the registry which families are limits; ``docs/model.md``'s family table is
generated from it (:func:`family_table`, ``docs/build_model_md.py``).

Roles:

- ``identity``: equalities that define columns (the fleet balance); never a limit;
- ``served``: rows whose duals value the work a unit in service does;
- ``balance``: work balances (work served within capacity or demand); their duals are
  reported, but they are not limits an analyst or a rule sets;
- ``limit``: limits an analyst or a rule sets (access, budget, power, rental): what compare
  ranks and stress counts as binding limits.

Lead time and whole lots are not row families: lead time moves a purchase's order quarter
(its budget year and capex date), lots scale the buy columns (``buy_scale``) and make them
integer.
"""

from __future__ import annotations

from dataclasses import dataclass

from capacity.text_table import parse_rows

ROLES = ("identity", "served", "balance", "limit")
"""What a family's rows are (see the module docstring)."""

OBJECTIVE = "{objective}"
"""Placeholder for the objective's unit in :attr:`Family.dual_unit` (``RMB m`` for npv,
``EFLOPS-quarters`` for max-compute: :func:`capacity.planner.duals.objective_unit`)."""


@dataclass(frozen=True)
class Family:
    """One constraint family.

    Attributes
    ----------
    name
        The family's name: its rows' ``family`` label and (unless :attr:`constraints` says
        otherwise) their ``constraint`` label.
    label
        Short label for outputs (stress's limit names, compare's limit groups).
    index
        The labels that index its rows (``period``, ``chip``, ``year``).
    unit
        Unit of one unit of its right-hand side.
    role
        One of :data:`ROLES`.
    dual
        What its dual (the shadow price reported, relax side) means.
    equation
        The row, in one line.
    constraints
        The ``constraint`` labels its rows carry (the family's name unless it holds several).
    """

    name: str
    label: str
    index: tuple[str, ...]
    unit: str
    role: str
    dual: str
    equation: str
    constraints: tuple[str, ...] = ()

    @property
    def constraint_names(self) -> tuple[str, ...]:
        """The ``constraint`` labels of its rows. [name]"""
        return self.constraints or (self.name,)

    @property
    def dual_unit(self) -> str:
        """Unit of its shadow price, the objective's unit left as :data:`OBJECTIVE`."""
        return f"{OBJECTIVE} per {self.unit}"

    @property
    def is_limit(self) -> bool:
        """Whether its rows are limits an analyst or a rule sets."""
        return self.role == "limit"


_TABLE = """\
fleet_balance | fleet balance | period, chip | unit | identity | - | fleet[c,t] - fleet[c,t-1] -
    buy[c,t] + buy[c,t-life] = 0 | value of one more new unit in service in (t, c) (an identity,
    not a limit)
allocation | allocation | period, chip | unit | served | - | train[c,t] + lease[c,t] -
    fleet[c,t] <= existing[c,t] | value of one more unit in service in (t, c) to train or lease
training | training | period | EFLOPS | balance | - | served[training,t] - sum_c k[c] train[c,t]
    - rent[t] <= 0 | value of one more EFLOPS of own training served in t
leasing | leasing | period | EFLOPS | balance | - | served[leasing,t] - sum_c k[c] lease[c,t] <=
    0 | value of one more EFLOPS leased out in t
tokens | tokens | period | tn tokens | served | - | served[inference,t] + sum_c tau[c] (train +
    lease - fleet)[c,t] <= sum_c tau[c] existing[c,t] | value of one more tn tokens of serving
    capacity in t
demand | demand | period | EFLOPS | balance | training_demand, leasing_demand | served[w,t] <=
    D[w,t] (w = training, leasing) | value of one EFLOPS more training or leasing demand in t
token_demand | token demand | period | tn tokens | balance | - | served[inference,t] <=
    D_tokens[t] | value of one tn tokens more inference demand in t
rental | rental | period | EFLOPS | limit | - | rent[t] - s[t] sum_c k[c] fleet[c,t] <= s[t]
    existing_eflops[t] | value of one more EFLOPS of rented training compute allowed in t
access | access | period, chip | unit | limit | - | buy[c,t] <= cap_units[c,t] | value of one
    more unit of access (export rule or supply cap) for c in t
budget | budget | year | RMB m | limit | - | sum_{order year = Y} price[c,t] buy[c,t] <= B_Y |
    value of one more RMB m of capex budget in order year Y
power | power | period | MW | limit | - | sum_c fleet[c,t] kw[c] / 1000 <= max(MW[t],
    existing_mw[t]) - existing_mw[t] | value of one more MW of data-centre power in t
"""
"""The families, one text row each: name | label | rows indexed by | unit of the right-hand
side | role | the ``constraint`` labels when several (``-``: its name) | row | dual's meaning."""


def _names(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.split(","))


def _family(name: str, fields: tuple[str, ...]) -> Family:
    label, index, unit, role, constraints, equation, dual = fields
    if role not in ROLES:
        raise ValueError(f"family {name}: unknown role {role!r}")
    return Family(name, label, _names(index), unit, role, dual, equation,
                  () if constraints == "-" else _names(constraints))


FAMILIES: tuple[Family, ...] = tuple(_family(n, f)
                                     for n, f in parse_rows(_TABLE, fields=8).items())
"""Every constraint family, in row order."""

(FLEET_BALANCE, ALLOCATION, TRAINING, LEASING, TOKENS, DEMAND, TOKEN_DEMAND, RENTAL, ACCESS,
    BUDGET, POWER) = FAMILIES


BY_NAME: dict[str, Family] = {f.name: f for f in FAMILIES}
"""Family name -> :class:`Family`."""

IDENTITY_FAMILIES: tuple[str, ...] = tuple(f.name for f in FAMILIES if f.role == "identity")
"""Families that are identities (equalities defining the fleet columns), not limits."""

SERVED_FAMILIES: tuple[str, ...] = tuple(f.name for f in FAMILIES if f.role == "served")
"""Families whose duals value the work a unit in service does."""

LIMIT_FAMILIES: tuple[str, ...] = tuple(f.name for f in FAMILIES if f.is_limit)
"""Families of limits an analyst or a rule sets (what compare ranks and stress counts)."""


def family(name: str) -> Family:
    """The registered family ``name``.

    Raises
    ------
    KeyError
        When no family has that name.
    """
    return BY_NAME[name]


def family_table(objective_unit: str = "RMB m") -> str:
    """The families as a Markdown table (``docs/model.md``), shadow-price units in
    ``objective_unit``."""
    head = ("| family | label | rows indexed by | right-hand side | role | shadow price "
            "(relax side) | unit of the shadow price | row |")
    out = [head, "|" + "---|" * 8]
    for f in FAMILIES:
        name = f"`{f.name}`" + ("" if not f.constraints else
                                " (" + ", ".join(f"`{c}`" for c in f.constraints) + ")")
        out.append(f"| {name} | {f.label} | {', '.join(f.index)} | {f.unit} | {f.role} | "
                   f"{f.dual} | {f.dual_unit.replace(OBJECTIVE, objective_unit)} | "
                   f"`{f.equation}` |")
    return "\n".join(out) + "\n"
