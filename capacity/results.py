"""Result container shared by every command: named tables plus scalars."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd


@dataclass
class Report:
    """Named tables and scalars of one command's result.

    Attributes
    ----------
    kind
        Command that made it (``calibrate``, ``plan``, ...).
    scalars
        Top-level values (``status``, ``objective_rmb_m``, ...).
    tables
        Named DataFrames; column names carry units.
    primary
        The table printed by ``--format csv`` and first by ``--format table``.
    titles
        Optional display title per table.
    """

    kind: str
    scalars: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    primary: str = ""
    titles: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object as Python data."""
        from capacity.report import jsonable, records

        out: dict[str, Any] = {k: jsonable(v) for k, v in self.scalars.items()}
        for name, df in self.tables.items():
            out[name] = records(df)
        return out
