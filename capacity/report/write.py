"""The only module that writes files: atomic writes, staging folders, the manifest, moving
into place, LP/MPS model files.

Everything else in :mod:`capacity.report` returns bytes or text; this module puts them on disk so
that no run leaves a half-written output. Temporary entries beside a destination ``X`` are named
``.X.<pid>.<8 hex>.tmp`` (being written) and ``.X.<pid>.<8 hex>.old`` (the previous ``X`` while an
``--overwrite`` run swaps the new one in), so the process that made them can be told.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from capacity.errors import InputError

if TYPE_CHECKING:
    import pulp

    from capacity.results import Report

# --------------------------------------------------------------------------------------------
# Names of temporary entries: the creator's pid is in the name
# --------------------------------------------------------------------------------------------


def staging_path(dest: Path, kind: str = "tmp") -> Path:
    """A fresh hidden name beside ``dest`` that names this process: ``.<name>.<pid>.<hex>.<kind>``.

    Parameters
    ----------
    dest
        The file or folder the temporary entry will become (``tmp``) or replaced (``old``).
    kind
        ``tmp`` (being written) or ``old`` (a previous output moved aside).
    """
    return dest.with_name(f".{dest.name}.{os.getpid()}.{secrets.token_hex(4)}.{kind}")


# --------------------------------------------------------------------------------------------
# Atomic file writing
# --------------------------------------------------------------------------------------------


def _new_temp_file(dest: Path) -> Path:
    """An empty file named by :func:`staging_path` beside ``dest`` (umask permissions)."""
    while True:
        tmp = staging_path(dest)
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666))
        except FileExistsError:  # pragma: no cover - 32 random bits collided
            continue
        return tmp


def _publish(tmp: Path, dest: Path, overwrite: bool) -> None:
    """Move a complete temporary file to ``dest``; without ``overwrite`` never replace one."""
    if overwrite:
        os.replace(tmp, dest)
        return
    try:
        os.link(tmp, dest)  # atomic and refuses an existing name: no check-then-move race
    except FileExistsError:
        raise InputError(str(dest), "exists; choose a new name or pass --overwrite") from None
    except OSError:  # a filesystem without hard links
        if dest.exists():
            raise InputError(str(dest), "exists; choose a new name or pass --overwrite") from None
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def write_file_atomic(path: Path, write: Callable[[Path], Any], overwrite: bool = True) -> Path:
    """Have ``write(tmp)`` fill a temporary file beside ``path``, then move it into place.

    Parameters
    ----------
    path
        Destination file.
    write
        Writes the content into the path it is given.
    overwrite
        Replace an existing ``path``; when false, :class:`InputError` instead.
    """
    path = Path(path)
    tmp = _new_temp_file(path)
    try:
        write(tmp)
        _publish(tmp, path, overwrite)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_bytes_atomic(path: Path, data: bytes, overwrite: bool = True) -> Path:
    """Write ``data`` to a temporary name in the same folder, then move it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_file_atomic(path, lambda tmp: tmp.write_bytes(data), overwrite)


def write_text_atomic(path: Path, text: str, overwrite: bool = True) -> Path:
    """Text version of :func:`write_bytes_atomic` (UTF-8, ``\\n`` line ends)."""
    return write_bytes_atomic(path, text.encode("utf-8"), overwrite)


def check_new_file(path: Path, overwrite: bool = False) -> None:
    """Refuse a file destination whose folder is missing, that is a folder, or that exists
    (unless ``overwrite``).

    Raises
    ------
    InputError
        Naming the path.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise InputError(str(path), "folder does not exist")
    if path.is_dir():
        raise InputError(str(path), "is a directory")
    if path.exists() and not overwrite:
        raise InputError(str(path), "exists; choose a new name or pass --overwrite")


def _write_model(path: Path, overwrite: bool, write: Callable[[str], Any]) -> Path:
    path = Path(path)
    check_new_file(path, overwrite)
    return write_file_atomic(path, lambda tmp: write(str(tmp)), overwrite)


def write_lp(problem: pulp.LpProblem, path: Path, overwrite: bool = False) -> Path:
    """Write a PuLP problem as an LP file, atomically.

    PuLP writes to a temporary file in the destination folder, which is then moved into place;
    an existing ``path`` is refused unless ``overwrite``.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    return _write_model(path, overwrite, problem.writeLP)


def write_mps(problem: pulp.LpProblem, path: Path, overwrite: bool = False) -> Path:
    """Write a PuLP problem as a (fixed) MPS file, atomically; see :func:`write_lp`."""
    return _write_model(path, overwrite, problem.writeMPS)


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
    from capacity.results import jsonable

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


def write_rich_outputs(stage: Path, reports: list[Report], scenarios: list) -> None:
    """The workbook, PNG charts and HTML report of an ``--out`` folder (into ``stage``)."""
    from capacity.report.charts import charts
    from capacity.report.formats import workbook_name
    from capacity.report.html import html_report
    from capacity.report.workbook import workbook_bytes

    write_bytes_atomic(stage / workbook_name(reports), workbook_bytes(reports, scenarios))
    pngs = charts(reports)
    for name, data in pngs.items():
        write_bytes_atomic(stage / name, data)
    write_text_atomic(stage / "report.html", html_report(reports, scenarios, pngs))


def _stage_files(stage: Path, reports: list, scenarios: list,
                 run: dict[str, Any] | None = None) -> None:
    from capacity.report.charts import REPORT_CHARTS
    from capacity.report.formats import file_prefix
    from capacity.results import csv_text, json_text

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
    t0 = time.perf_counter()
    write_rich_outputs(stage, reports, scenarios)
    run = dict(run or {})
    run["timings_s"] = {**run.get("timings_s", {}), "write_outputs_s": time.perf_counter() - t0}
    write_text_atomic(stage / "manifest.json",
                      json.dumps(manifest(reports, scenarios, run), indent=2, ensure_ascii=False,
                                 default=str) + "\n")


def _new_stage(out: Path) -> Path:
    while True:
        stage = staging_path(out)
        try:
            stage.mkdir(mode=0o777)  # the umask applies, as for any folder the user makes
        except FileExistsError:  # pragma: no cover - 32 random bits collided
            continue
        return stage


def write_output_dir(out: Path, reports: list, scenarios: list, overwrite: bool = False,
                     run: dict[str, Any] | None = None) -> None:
    """Write every output of a run into ``out``, all or nothing.

    Files are staged in a hidden sibling folder (:func:`staging_path`), then the folder is moved
    into place, so an interrupted run leaves no half-written output and an existing folder is
    never mixed with old files (it is replaced only with ``overwrite``). ``run`` (solver,
    timings) goes into the manifest.
    """
    out = Path(out)
    check_out_dir(out, overwrite=overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = _new_stage(out)
    try:
        _stage_files(stage, reports, scenarios, run)
        if out.exists():
            old = staging_path(out, "old")
            os.replace(out, old)
            os.replace(stage, out)
            shutil.rmtree(old)
        else:
            os.replace(stage, out)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
