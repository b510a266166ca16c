"""The only module that writes files: atomic writes, the staging folder, the manifest, moving
into place.

Everything else in :mod:`capacity.report` returns bytes or text; this module puts them on disk so
that an interrupted run leaves no half-written output.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from capacity.errors import InputError
from capacity.report.charts import REPORT_CHARTS, charts
from capacity.report.formats import file_prefix, workbook_name
from capacity.report.html import html_report
from capacity.report.workbook import workbook_bytes
from capacity.results import Report, csv_text, json_text, jsonable

# --------------------------------------------------------------------------------------------
# Atomic file writing
# --------------------------------------------------------------------------------------------


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def normal_mode(path: str | Path, directory: bool = False) -> None:
    """Give a temporary file or folder the permissions a plain ``open``/``mkdir`` would.

    ``mkstemp``/``mkdtemp`` create owner-only entries; outputs are meant to be shared.
    """
    os.chmod(path, (0o777 if directory else 0o666) & ~_umask())


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary name in the same folder, then move into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        normal_mode(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    """Text version of :func:`write_bytes_atomic` (UTF-8, ``\\n`` line ends)."""
    write_bytes_atomic(path, text.encode("utf-8"))


def check_out_dir(out: Path, overwrite: bool = False) -> None:
    """Refuse to mix new outputs with old files in an existing, non-empty folder.

    Raises
    ------
    InputError
        When ``out`` exists, is not empty, and ``overwrite`` is false; or when it is a file.
    """
    if out.exists() and not out.is_dir():
        raise InputError("--out", f"{out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise InputError("--out", f"{out} is not empty; choose a new folder or pass --overwrite")


# --------------------------------------------------------------------------------------------
# Output folders
# --------------------------------------------------------------------------------------------


def package_versions() -> dict[str, str]:
    """Versions of the packages that shape the numbers (for the manifest)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("capacity", "pandas", "numpy", "pulp", "highspy", "pydantic", "typer",
                 "openpyxl", "matplotlib"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    import platform

    out["python"] = platform.python_version()
    return out


def manifest(reports: list, scenarios: list, run: dict[str, Any] | None = None
             ) -> dict[str, Any]:
    """What is needed to reproduce a run: resolved scenarios, input hashes, versions.

    ``run`` adds how it was run (``solver``, ``timings_s`` per step, ``command``); the solver
    defaults to the one the reports name.
    """
    run = dict(run or {})
    solvers = sorted({str(r.scalars["solver"]) for r in reports if "solver" in r.scalars})
    run.setdefault("solver", solvers[0] if len(solvers) == 1 else solvers or None)
    return {
        "kind": [r.kind for r in reports],
        "scenarios": [{
            "name": sc.name,
            "description": sc.description,
            "inputs": sc.inputs.model_dump(mode="json"),
            "changes": [c.as_record() for c in sc.changes],
            "input_files_sha256": dict(sorted(sc.files.items())),
        } for sc in scenarios],
        "scalars": [jsonable({k: v for k, v in r.scalars.items() if k != "changes"})
                    for r in reports],
        "versions": package_versions(),
        "solver": run.pop("solver"),
        "timings_s": jsonable(run.pop("timings_s", {})),
        **jsonable(run),
    }


def _stage_files(stage: Path, reports: list, scenarios: list,
                 run: dict[str, Any] | None = None) -> None:
    multi = len(reports) > 1
    for report in reports:
        prefix = file_prefix(report, multi)
        for name, df in report.tables.items():
            write_text_atomic(stage / f"{prefix}{name}.csv", csv_text(df))
        write_text_atomic(stage / f"{prefix}{report.kind}.json", json_text(report))
        chart = REPORT_CHARTS.get(report.kind)
        png = chart[0](report) if chart else None
        if png is not None:
            write_bytes_atomic(stage / f"{prefix}{chart[1]}", png)
    import time

    t0 = time.perf_counter()
    write_rich_outputs(stage, reports, scenarios)
    run = dict(run or {})
    run["timings_s"] = {**run.get("timings_s", {}), "write_outputs_s": time.perf_counter() - t0}
    write_text_atomic(stage / "manifest.json",
                      json.dumps(manifest(reports, scenarios, run), indent=2, ensure_ascii=False,
                                 default=str) + "\n")


def write_output_dir(out: Path, reports: list, scenarios: list, overwrite: bool = False,
                     run: dict[str, Any] | None = None) -> None:
    """Write every output of a run into ``out``, all or nothing.

    Files are staged in a hidden sibling folder, then the folder is moved into place, so an
    interrupted run leaves no half-written output and an existing folder is never mixed with
    old files (it is replaced only with ``overwrite``). ``run`` (solver, timings) goes into the
    manifest.
    """
    import shutil

    out = Path(out)
    check_out_dir(out, overwrite=overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    normal_mode(stage, directory=True)
    try:
        _stage_files(stage, reports, scenarios, run)
        if out.exists():
            old = out.with_name(f".{out.name}.old")
            if old.exists():
                shutil.rmtree(old)
            os.replace(out, old)
            os.replace(stage, out)
            shutil.rmtree(old)
        else:
            os.replace(stage, out)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


def write_rich_outputs(stage: Path, reports: list[Report], scenarios: list) -> None:
    """The workbook, PNG charts and HTML report of an ``--out`` folder (into ``stage``)."""
    write_bytes_atomic(stage / workbook_name(reports), workbook_bytes(reports, scenarios))
    pngs = charts(reports)
    for name, data in pngs.items():
        write_bytes_atomic(stage / name, data)
    write_text_atomic(stage / "report.html", html_report(reports, scenarios, pngs))


