"""The only module that writes files: locks, atomic writes, staging folders, the manifest.

Everything else in :mod:`capacity.report` returns bytes or text; this module puts them on disk so
that no run leaves a half-written output, two runs never write into one destination, and what a
killed run left behind is cleaned up by the next run.

Notes
-----
Names this module makes beside a destination ``X`` in its parent folder:

``.X.lock``
    The lock file of ``X``: ``fcntl.flock`` (exclusive, non-blocking) for the whole run, holding
    ``capacity <pid>``. Removed by its holder when the run ends; the kernel drops the lock itself
    when a run dies, and the next run into ``X`` takes over the file.
``.X.<pid>.<8 hex>.tmp``
    A staging folder (or a temporary file, for ``--save-lp``) of the run with process id
    ``<pid>``; moved into place when complete.
``.X.<pid>.<8 hex>.old``
    The previous ``X`` while an ``--overwrite`` run swaps the new one in.

A run that takes a lock removes, in that parent, every ``.tmp`` entry whose process is gone, the
lock files nobody holds, and ``.old`` entries whose destination is back (it restores ``.old`` as
``X`` when a killed run had moved ``X`` aside and left nothing in its place). Process ids are
those of this machine's process namespace: a folder shared between machines or containers must
not rely on the clean-up. Locks are POSIX ``flock`` locks (advisory: they bind capacity runs).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from capacity.errors import InputError

if TYPE_CHECKING:
    import pulp

    from capacity.results import Report

LOCK_TAG = "capacity"
"""First word of every lock file this module writes (the second is the holder's pid)."""

_STAGING = re.compile(r"^\.(?P<name>.+)\.(?P<pid>[0-9]+)\.(?P<token>[0-9a-f]{8})"
                      r"\.(?P<kind>tmp|old)$")
_LOCK = re.compile(r"^\.(?P<name>.+)\.lock$")


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


def staging_owner(name: str) -> tuple[str, int, str] | None:
    """``(destination name, creator pid, kind)`` of a name made by :func:`staging_path`, else
    None."""
    m = _STAGING.match(name)
    return (m["name"], int(m["pid"]), m["kind"]) if m else None


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this machine (a zombie counts as gone)."""
    if pid == os.getpid():
        return True
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    try:  # Linux: a killed child its parent has not reaped yet is a zombie, i.e. gone
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rpartition(")")[2].split()[:1] != ["Z"]
    except OSError:
        return True


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def remove_stale_staging(dest: Path) -> list[Path]:
    """Remove what killed runs left in ``dest``'s parent folder; returns what was removed.

    Every ``.tmp`` entry and lock file whose process is gone goes. An ``.old`` entry (a previous
    output an ``--overwrite`` run moved aside) goes when its destination exists again; when it
    is ``dest``'s and ``dest`` is missing, it is moved back to ``dest`` (the state before the
    killed run). Call it while holding ``dest``'s lock.
    """
    parent = dest.parent
    try:
        entries = sorted(os.scandir(parent), key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return []
    removed: list[Path] = []
    for entry in entries:
        path = Path(entry.path)
        owner = staging_owner(entry.name)
        if owner is not None:
            name, pid, kind = owner
            if process_alive(pid):
                continue
            target = parent / name
            if kind == "old" and not target.exists():
                if name == dest.name:
                    os.replace(path, target)
                continue  # another destination's previous output: its own next run restores it
            _remove(path)
            removed.append(path)
        elif (m := _LOCK.match(entry.name)) and m["name"] != dest.name and _drop_lock_file(path):
            removed.append(path)
    return removed


# --------------------------------------------------------------------------------------------
# The lock on a destination
# --------------------------------------------------------------------------------------------


@dataclass
class OutputLock:
    """An exclusive ``flock`` on a destination's lock file, held by this process.

    Attributes
    ----------
    dest
        The destination (an ``--out`` folder).
    path
        The lock file, ``<parent>/.<name>.lock``.
    fd
        Its open descriptor (the lock lives as long as it is open).
    made
        Folders created to hold the lock file, removed again on release when left empty.
    depth
        How many :func:`claim_destination` blocks of this process hold it.
    """

    dest: Path
    path: Path
    fd: int
    made: list[Path] = field(default_factory=list)
    depth: int = 1

    def release(self) -> None:
        """Remove the lock file and drop the lock (in that order: see :func:`lock_destination`)."""
        with contextlib.suppress(FileNotFoundError):
            if os.stat(self.path).st_ino == os.fstat(self.fd).st_ino:
                os.unlink(self.path)
        os.close(self.fd)
        for folder in reversed(self.made):  # deepest last made, first removed
            with contextlib.suppress(OSError):
                folder.rmdir()


_HELD: dict[Path, OutputLock] = {}
"""Destinations this process holds, by absolute path (flock is per open file, not per process)."""


def lock_path(dest: Path) -> Path:
    """The lock file of ``dest``: ``<parent>/.<name>.lock``."""
    return dest.with_name(f".{dest.name}.lock")


def _key(dest: Path) -> Path:
    return Path(os.path.abspath(dest))


def _holder(fd: int) -> str:
    os.lseek(fd, 0, os.SEEK_SET)
    words = os.read(fd, 64).decode("ascii", "replace").split()
    return f"pid {words[1]}" if len(words) == 2 and words[0] == LOCK_TAG else "pid unknown"


def _make_parents(folder: Path) -> list[Path]:
    missing = []
    while not folder.exists():
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    made: list[Path] = []
    try:
        for f in reversed(missing):
            try:
                f.mkdir()
            except FileExistsError:
                continue
            made.append(f)
    except BaseException:
        for f in reversed(made):
            with contextlib.suppress(OSError):
                f.rmdir()
        raise
    return made


def lock_destination(dest: Path, what: str = "--out") -> OutputLock:
    """Take the exclusive lock of ``dest`` for this run, or fail at once.

    The lock file is created if missing; after ``flock`` succeeds, the file at the path must
    still be the one locked (a finishing holder unlinks it before unlocking), else this retries.
    So a lock file can be removed safely by whoever holds its lock.

    Raises
    ------
    InputError
        When another process holds ``dest`` (the message names its pid), or ``dest``'s parent
        cannot be made.
    """
    dest = Path(dest)
    if not dest.name:
        raise InputError(what, f"{dest} is not a file or folder name")
    try:
        made = _make_parents(dest.parent)
    except NotADirectoryError:
        made = []
    try:
        if not dest.parent.is_dir():
            raise InputError(what, f"{dest.parent} is not a directory")
        return _take(dest, lock_path(dest), made, what)
    except BaseException:
        for folder in reversed(made):
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise


def _take(dest: Path, path: Path, made: list[Path], what: str) -> OutputLock:
    for _ in range(100):
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise InputError(what, f"{dest} is being written by another capacity run ({holder})"
                             "; wait for it to finish or choose another destination") from None
        except BaseException:
            os.close(fd)
            raise
        try:
            current = os.stat(path).st_ino
        except FileNotFoundError:
            current = None
        if current == os.fstat(fd).st_ino:
            os.ftruncate(fd, 0)
            os.write(fd, f"{LOCK_TAG} {os.getpid()}\n".encode("ascii"))
            return OutputLock(dest, path, fd, made)
        os.close(fd)  # its holder removed it between our open and our lock: take the new one
    raise InputError(what, f"{dest}: could not take the lock {path}")  # pragma: no cover


def _drop_lock_file(path: Path) -> bool:
    """Remove a lock file nobody holds (one of ours, left by a killed run)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.lseek(fd, 0, os.SEEK_SET)
        if not os.read(fd, 64).decode("ascii", "replace").startswith(f"{LOCK_TAG} "):
            return False  # not a file this tool wrote
        if os.stat(path).st_ino != os.fstat(fd).st_ino:
            return False
        os.unlink(path)
        return True
    except OSError:  # held by a live run, or gone already
        return False
    finally:
        os.close(fd)


@contextlib.contextmanager
def claim_destination(dest: Path | None, overwrite: bool = False, what: str = "--out"
                      ) -> Iterator[None]:
    """Hold ``dest`` for a whole run: lock it, clean up after killed runs, check it.

    Use it around everything a command does, so a second run into the same destination is
    refused before it solves anything. Re-entrant within one process: the writer claims the
    destination again, which only re-checks it. ``dest`` None does nothing.

    Parameters
    ----------
    dest
        The ``--out`` folder.
    overwrite
        Whether an existing, non-empty ``dest`` may be replaced (:func:`check_out_dir`).
    what
        The option named in error messages.
    """
    if dest is None:
        yield
        return
    dest = Path(dest)
    key = _key(dest)
    held = _HELD.get(key)
    if held is not None:
        held.depth += 1
    else:
        held = _HELD[key] = lock_destination(dest, what)
    try:
        if held.depth == 1:
            remove_stale_staging(dest)
        check_out_dir(dest, overwrite)
        yield
    finally:
        held.depth -= 1
        if held.depth == 0:
            del _HELD[key]
            held.release()


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
    """Write a PuLP problem as a (fixed) MPS file, atomically; see :func:`write_lp`.

    The file carries an ``OBJSENSE`` section, so a reader takes the NPV maximisation as a
    maximisation (PuLP otherwise writes the sense as a comment only)."""
    return _write_model(path, overwrite, lambda p: problem.writeMPS(p, with_objsense=True))


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


Progress = Callable[[int, int, str], Any]
"""``progress(done, total, text)``: called before each file of an ``--out`` folder is made
(``text`` names it; ``done`` of ``total`` files are written), and once more at the end."""


@dataclass
class _Steps:
    """Counts the files of an ``--out`` folder as they are written and times its stages."""

    total: int
    progress: Progress | None = None
    done: int = 0
    timings_s: dict[str, float] = field(default_factory=dict)

    def next(self, text: str, files: int = 1) -> None:
        """About to write ``files`` files, named by ``text``."""
        if self.progress is not None:
            self.progress(self.done, self.total, text)
        self.done += files

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time a stage into :attr:`timings_s` as ``<name>_s``. [s]"""
        t0 = time.perf_counter()
        try:
            yield
        finally:
            key = f"{name}_s"
            self.timings_s[key] = self.timings_s.get(key, 0.0) + time.perf_counter() - t0


def rendered_charts(jobs: list[tuple[str, Any]]) -> Iterator[tuple[str, dict[str, bytes]]]:
    """``(stem, {file: bytes})`` of each chart job, in order, drawn in this process.

    Forked drawing processes were tried and gained nothing on the 2-core machine under load;
    they would also fork a process whose solver threads are running and which holds the
    signal handlers of a clean stop, so the charts are drawn here.
    """
    from capacity.report.charts import render_job

    for stem, draw in jobs:
        yield stem, render_job(draw, stem)


def write_rich_outputs(stage: Path, reports: list[Report], scenarios: list,
                       more_images: dict[str, bytes] | None = None,
                       steps: _Steps | None = None) -> None:
    """The workbook, PNG and SVG charts and HTML report of an ``--out`` folder (into
    ``stage``); ``more_images`` (charts already written, such as ``backtest.png``) are shown in
    the report too. ``steps`` counts and times what is written (stages ``workbook``, ``charts``,
    ``report_html``)."""
    from capacity.report.charts import chart_jobs
    from capacity.report.formats import workbook_name
    from capacity.report.html import html_report
    from capacity.report.workbook import workbook_bytes

    jobs = chart_jobs(reports, scenarios)
    steps = steps or _Steps(total=2 + 2 * len(jobs))
    name = workbook_name(reports)
    with steps.stage("workbook"):
        steps.next(name)
        write_bytes_atomic(stage / name, workbook_bytes(reports, scenarios))
    images: dict[str, bytes] = {}
    with steps.stage("charts"):
        for stem, files in rendered_charts(jobs):
            steps.next(f"chart {stem}", files=2)
            for file, data in files.items():
                write_bytes_atomic(stage / file, data)
                images[file] = data
    with steps.stage("report_html"):
        steps.next("report.html")
        write_text_atomic(stage / "report.html",
                          html_report(reports, scenarios, {**(more_images or {}), **images}))


def write_data_files(stage: Path, reports: list[Report], scenarios: list,
                     steps: _Steps | None = None,
                     tables: dict[str, tuple[str, str, Any]] | None = None) -> None:
    """The long tables (CSV and Parquet), each report's JSON and ``datapackage.json``.

    One table per kind across scenarios (:func:`capacity.report.formats.tidy_tables`), so a
    comparison writes ``quarters.csv`` with a ``scenario`` column, not one file per scenario.
    ``tables`` are the long tables when the caller has made them already.
    """
    from capacity.report.formats import datapackage, json_name, parquet_bytes, tidy_tables
    from capacity.results import csv_text, json_text

    tables = tidy_tables(reports) if tables is None else tables
    steps = steps or _Steps(total=2 * len(tables) + len(reports) + 1)
    titles: dict[str, str] = {}
    for stem, (kind, table, frame) in tables.items():
        steps.next(f"{stem}.csv and .parquet", files=2)
        write_text_atomic(stage / f"{stem}.csv", csv_text(frame))
        write_bytes_atomic(stage / f"{stem}.parquet", parquet_bytes(frame))
        titles[stem] = next((r.titles[table] for r in reports
                             if r.kind == kind and table in r.titles), "")
    for report in reports:
        name = json_name(report, reports)
        steps.next(name)
        write_text_atomic(stage / name, json_text(report))
    package = datapackage(tables, reports, scenarios, titles)
    steps.next("datapackage.json")
    write_text_atomic(stage / "datapackage.json",
                      json.dumps(package, indent=2, ensure_ascii=False) + "\n")


def _stage_files(stage: Path, reports: list, scenarios: list,
                 run: dict[str, Any] | None = None, progress: Progress | None = None
                 ) -> dict[str, float]:
    from capacity.report.charts import chart_jobs
    from capacity.report.command_charts import REPORT_CHARTS, report_charts
    from capacity.report.formats import tidy_tables

    steps = _Steps(total=0, progress=progress)
    with steps.stage("data_files"):
        tables = tidy_tables(reports)
        # two files per long table and per chart, a JSON per report, the data package,
        # workbook, report and manifest
        steps.total = (2 * len(tables) + len(reports) + 1
                       + 2 * sum(r.kind in REPORT_CHARTS for r in reports)
                       + 2 * len(chart_jobs(reports, scenarios)) + 3)
        write_data_files(stage, reports, scenarios, steps, tables)
    images: dict[str, bytes] = {}
    with steps.stage("report_charts"):
        for report in reports:
            got = report_charts(report, scenarios)
            if got:
                steps.next(f"{report.kind} chart", files=len(got))
            for name, data in got.items():
                write_bytes_atomic(stage / name, data)
                images[name] = data
    t0 = time.perf_counter()
    write_rich_outputs(stage, reports, scenarios, images, steps)
    run = dict(run or {})
    run["timings_s"] = {**run.get("timings_s", {}), "write_outputs_s": time.perf_counter() - t0,
                        "write_stages": dict(steps.timings_s)}
    # the manifest last: a folder with a manifest that lists every other file is complete
    with steps.stage("manifest"):
        steps.next("manifest.json")
        from capacity.report.manifest import file_list, manifest

        text = json.dumps(manifest(reports, scenarios, run, file_list(stage)), indent=2,
                          ensure_ascii=False, default=str) + "\n"
        write_text_atomic(stage / "manifest.json", text)
    if progress is not None:
        progress(steps.done, steps.total, "done")
    return steps.timings_s


def _new_stage(out: Path) -> Path:
    while True:
        stage = staging_path(out)
        try:
            stage.mkdir(mode=0o777)  # the umask applies, as for any folder the user makes
        except FileExistsError:  # pragma: no cover - 32 random bits collided
            continue
        return stage


def write_output_dir(out: Path, reports: list, scenarios: list, overwrite: bool = False,
                     run: dict[str, Any] | None = None, progress: Progress | None = None
                     ) -> dict[str, float]:
    """Write every output of a run into ``out``, all or nothing.

    Files are staged in a hidden sibling folder (:func:`staging_path`), then the folder is moved
    into place, so an interrupted run leaves no half-written output and an existing folder is
    never mixed with old files (it is replaced only with ``overwrite``). ``out`` is locked while
    this runs (already, when the caller holds :func:`claim_destination`). ``run`` (solver,
    timings) goes into the manifest. ``progress`` is told of each file before it is made
    (:data:`Progress`).

    Returns
    -------
    dict
        Seconds per stage of the writing: ``data_files_s``, ``report_charts_s``,
        ``workbook_s``, ``charts_s``, ``report_html_s``, ``manifest_s``. [s]
    """
    out = Path(out)
    with claim_destination(out, overwrite):
        stage = _new_stage(out)
        try:
            timings = _stage_files(stage, reports, scenarios, run, progress)
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
    return timings
