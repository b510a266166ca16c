"""The validated scenario: inputs plus everything read from files that goes with them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from capacity.scenarios.keys import Change, source_of
from capacity.schemas import ExportRule, Inputs


@dataclass(frozen=True)
class Scenario:
    """A validated scenario: the inputs plus everything read from files that goes with them.

    Attributes
    ----------
    name
        Scenario name (file stem for a file).
    description
        One line saying what the scenario assumes.
    inputs
        The validated inputs.
    catalog
        The chip catalog (see :func:`read_catalog`).
    disclosures
        Company disclosures (see :func:`read_disclosures`).
    rules
        The export-control rule library (``data/export_controls.toml``), validated, by id.
        Rules the scenario defines itself are in ``inputs.controls.extra_rules``.
    changes
        Keys changed relative to the baseline, in order applied.
    sources
        Source or rationale per dotted input key (prefix match; see :func:`source_of`).
    files
        Every file read, with its SHA-256.
    uncertain
        Uncertain inputs for stress tests: dotted key -> distribution table.
    as_of
        The vintage date: inputs as they could be known then (:func:`vintage_layers`); the
        disclosures are those published by then.
    """

    name: str
    description: str
    inputs: Inputs
    catalog: pd.DataFrame = field(repr=False)
    disclosures: pd.DataFrame = field(repr=False)
    rules: dict[str, ExportRule] = field(repr=False, default_factory=dict)
    changes: tuple[Change, ...] = ()
    sources: dict[str, str] = field(repr=False, default_factory=dict)
    files: dict[str, str] = field(repr=False, default_factory=dict)
    uncertain: dict[str, dict[str, Any]] = field(repr=False, default_factory=dict)
    as_of: dt.date = dt.date(2023, 8, 31)

    def source_of(self, key: str) -> str:
        """Source of a dotted input key: the longest matching prefix in ``sources``."""
        return source_of(self.sources, key)

    def all_rules(self) -> dict[str, Any]:
        """Library rules plus the scenario's own ``controls.extra_rules``, by id."""
        return {**self.rules, **{r.id: r for r in self.inputs.controls.extra_rules}}

    def with_inputs(self, inputs: Inputs) -> Scenario:
        """A copy with other (already validated) inputs."""
        return replace(self, inputs=inputs)
