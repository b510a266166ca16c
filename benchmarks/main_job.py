"""Time the main job (the README's first command) by stage, in one process.

Run on demand (not part of the tests):

    python benchmarks/main_job.py [--repeat 1] [--out DIR]

The main job is ``capacity compare`` of the nine scenarios for today with ``--out``. Each run
times the stages as ``capacity compare --verbose`` splits them
(:func:`capacity.cli.main_job_stages`): loading the scenarios, planning and valuing them, and
each stage of writing the folder (data files, workbook, charts, HTML report, manifest;
:func:`capacity.report.write.write_output_dir`). Every stage is printed with its seconds and
its share of the run's total: on a shared machine the seconds move with the load, the shares
much less, so compare shares (ratios within one run) across changes. With ``--repeat N`` the
median of each stage over N runs is printed as well.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from capacity.cli_options import load
from capacity.comparison import compare
from capacity.report.layout import main_job_stages, stage_times
from capacity.report.write import write_output_dir

MAIN_JOB = ["baseline", "h20-discouraged-2025", "h200-customs-block-2026",
            "h200-class-rule-2026", "b30a-allowed", "b30a-denied", "ascend-950-ramp",
            "remote-access-closed", "entity-list-buyer"]
"""The scenarios of the README's first command, in its order."""


def one_run(out: Path) -> tuple[dict[str, float], float]:
    """Stages of one main job writing into ``out`` (a new folder) and its total. [s]"""
    t0 = time.perf_counter()
    loaded = [load(name) for name in MAIN_JOB]
    t1 = time.perf_counter()
    result = compare(loaded)
    t2 = time.perf_counter()
    written = write_output_dir(out, result.reports, loaded)
    return (main_job_stages(t1 - t0, t2 - t1, result.timings, written),
            time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=1, help="runs (default 1)")
    ap.add_argument("--out", type=Path, default=None,
                    help="parent folder of the runs' --out folders (default: a temporary one)")
    args = ap.parse_args(argv)
    runs: list[tuple[dict[str, float], float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        parent = args.out or Path(tmp)
        for k in range(args.repeat):
            stages, total = one_run(parent / f"run{k}")
            runs.append((stages, total))
            print(f"run {k + 1} of {args.repeat}")
            print(stage_times(stages, total))
    if len(runs) > 1:
        median = {name: statistics.median(r[0][name] for r in runs) for name in runs[0][0]}
        print("median of the runs")
        print(stage_times(median, statistics.median(r[1] for r in runs)))


if __name__ == "__main__":
    main()
