"""The manifest of an ``--out`` folder: what was run, with which inputs and package versions,
and every file's size and SHA-256 (written by :mod:`.write`, the only writer)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any


def package_versions() -> dict[str, str]:
    """Versions of the packages that shape the numbers (for the manifest)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("capacity", "pandas", "numpy", "pulp", "highspy", "pydantic", "typer",
                 "xlsxwriter", "matplotlib", "pyarrow"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    import platform

    out["python"] = platform.python_version()
    return out


def file_list(folder: Path) -> dict[str, dict[str, Any]]:
    """Every file of ``folder`` (sorted by name) with its size [bytes] and SHA-256."""
    out = {}
    for p in sorted(folder.iterdir(), key=lambda p: p.name):
        data = p.read_bytes()
        out[p.name] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    return out


def manifest(reports: list, scenarios: list, run: dict[str, Any] | None = None,
             files: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """What is needed to reproduce a run: resolved scenarios, input hashes, versions, files.

    ``run`` adds how it was run (``solver``, ``timings_s`` per step, ``command``); the solver
    defaults to the one the reports name. ``files`` (:func:`file_list`) names every other file
    of the folder, so a reader can tell a complete folder from a damaged one.
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
        "files": files or {},
    }
