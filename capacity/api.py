"""The common result type of the Python API (:class:`Result`): one per call of
``capacity.calibrate/controls/demand/plan/value/compare/stress/backtest``.

A :class:`Result` is a :class:`capacity.results.Report` (named tables with units in column names
and in ``df.attrs["unit"]``, scalars, ``to_json()``, ``select()``, a notebook display) that also
knows the scenarios it came from, the reports it is made of and the library object behind it, so
it can write its workbook (:meth:`Result.to_excel`, through :mod:`capacity.report.write`, the only
writer of files).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from capacity.results import Report


@dataclass
class Result(Report):
    """What every top-level API function returns.

    Attributes (beyond :class:`~capacity.results.Report`)
    ----------------------------------------------------
    scenarios
        The scenarios run (for the workbook's ``assumptions`` sheet).
    parts
        Further reports of the run (``compare``: each scenario's plan and value reports).
    detail
        The library object behind it (``plan``: :class:`capacity.planner.Plan`; ``compare``:
        :class:`capacity.comparison.CompareResult`; ``stress``: its result); attributes not found
        on the result are looked up there (``result.plans``, ``result.names``).
    """

    scenarios: list = field(default_factory=list, repr=False)
    parts: list[Report] = field(default_factory=list, repr=False)
    detail: Any = field(default=None, repr=False)

    @classmethod
    def of(cls, report: Report, scenarios: list, parts: list[Report] | None = None,
           detail: Any = None) -> Result:
        """The result of ``report`` (its tables are shared, not copied)."""
        return cls(report.kind, scalars=report.scalars, tables=report.tables,
                   primary=report.primary, titles=report.titles, scenarios=list(scenarios),
                   parts=list(parts or []), detail=detail)

    @property
    def reports(self) -> list[Report]:
        """This report, then its parts: what ``--out`` and :meth:`to_excel` write."""
        return [self, *self.parts]

    def __getattr__(self, name: str) -> Any:
        tables = self.__dict__.get("tables")
        if tables is not None and name in tables:
            return tables[name]
        detail = self.__dict__.get("detail")
        if detail is not None and not name.startswith("_"):
            try:
                return getattr(detail, name)
            except AttributeError:
                pass
        return Report.__getattr__(self, name)

    def to_excel(self, path: str | Path, overwrite: bool = True) -> Path:
        """Write the workbook of this result (the one ``--out`` writes) to ``path``, atomically
        (:func:`capacity.report.write.write_bytes_atomic`); returns the path."""
        from capacity.report.workbook import workbook_bytes
        from capacity.report.write import write_bytes_atomic

        return write_bytes_atomic(Path(path), workbook_bytes(self.reports, self.scenarios),
                                  overwrite=overwrite)
