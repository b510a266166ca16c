"""The one writer (capacity.report.write): model files, atomic writes, temporary names."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys

import pulp
import pytest

from capacity import lp
from capacity.errors import InputError
from capacity.report.write import (
    claim_destination,
    lock_path,
    process_alive,
    staging_path,
    write_lp,
    write_mps,
    write_text_atomic,
)


def _tiny_problem() -> pulp.LpProblem:
    """min x + 2 y  s.t.  x + y >= 1,  0 <= x <= 3,  y >= 0."""
    prob = lp.new_problem("tiny")
    x = lp.add_var(prob, "x", 0.0, 3.0)
    y = lp.add_var(prob, "y", 0.0)
    prob.setObjective(lp.affine([(x, 1.0), (y, 2.0)]))
    lp.add_constraint(prob, lp.affine([(x, 1.0), (y, 1.0)]) >= 1.0, "cover")
    return prob


def _plain_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@pytest.mark.parametrize(("writer", "pulp_method", "kwargs"),
                         [(write_lp, "writeLP", {}),
                          (write_mps, "writeMPS", {"with_objsense": True})])
def test_model_file_same_bytes_as_pulp_and_no_temporaries(tmp_path, writer, pulp_method,
                                                          kwargs):
    prob = _tiny_problem()
    ref = tmp_path / "ref"
    getattr(prob, pulp_method)(str(ref), **kwargs)
    out = tmp_path / "sub" / "model"
    (tmp_path / "sub").mkdir()
    assert writer(prob, out) == out
    assert out.read_bytes() == ref.read_bytes()
    assert stat.S_IMODE(out.stat().st_mode) == _plain_mode()
    assert sorted(p.name for p in out.parent.iterdir()) == ["model"]


def test_model_file_refuses_existing_path_unless_overwrite(tmp_path):
    prob = _tiny_problem()
    out = tmp_path / "plan.lp"
    out.write_text("analyst's file\n")
    with pytest.raises(InputError, match="exists"):
        write_lp(prob, out)
    assert out.read_text() == "analyst's file\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.lp"]
    write_lp(prob, out, overwrite=True)
    assert out.read_text().startswith("\\*")


def test_model_file_needs_an_existing_folder(tmp_path):
    with pytest.raises(InputError, match="folder does not exist"):
        write_mps(_tiny_problem(), tmp_path / "missing" / "plan.mps")
    assert list(tmp_path.iterdir()) == []


def test_temporary_names_carry_the_creator_pid(tmp_path):
    name = staging_path(tmp_path / "out").name
    head, pid, token, kind = name.rsplit(".", 3)
    assert head == ".out" and int(pid) == os.getpid() and len(token) == 8 and kind == "tmp"
    assert staging_path(tmp_path / "out").name != name


def test_atomic_text_write_replaces_in_one_step(tmp_path):
    path = tmp_path / "a.txt"
    write_text_atomic(path, "one\n")
    write_text_atomic(path, "two\n")
    assert path.read_text() == "two\n"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_cli_save_lp_refuses_existing_file_before_solving(run_cli, tmp_path):
    lpf = tmp_path / "plan.lp"
    lpf.write_text("keep\n")
    code, out, err = run_cli("plan", "--save-lp", str(lpf), "--format", "json")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "exists" in err and "Traceback" not in err
    assert lpf.read_text() == "keep\n"
    assert [p.name for p in tmp_path.iterdir()] == ["plan.lp"]


# --------------------------------------------------------------------------------------------
# The lock on a destination, and what killed runs leave behind
# --------------------------------------------------------------------------------------------

_HOLDER = """
import sys
from pathlib import Path
from capacity.report.write import lock_destination
lock = lock_destination(Path(sys.argv[1]))
print("locked", flush=True)
sys.stdin.read()
lock.release()
"""


def _dead_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_second_claim_fails_at_once_naming_the_holder(tmp_path):
    out = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(out)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "locked\n"
        with pytest.raises(InputError, match=rf"being written by another capacity run "
                                             rf"\(pid {holder.pid}\)"), claim_destination(out):
            pass
        assert not out.exists()
    finally:
        holder.communicate("")
    assert holder.returncode == 0
    assert list(tmp_path.iterdir()) == []  # the holder removed its lock file
    with claim_destination(out):  # free again
        assert lock_path(out).read_text() == f"capacity {os.getpid()}\n"
    assert list(tmp_path.iterdir()) == []


def test_claim_is_reentrant_and_creates_missing_parents_only_for_the_run(tmp_path):
    out = tmp_path / "a" / "b" / "out"
    with claim_destination(out), claim_destination(out):
        assert lock_path(out).exists()
    assert list(tmp_path.iterdir()) == []  # nothing written: the folders made for the lock go


def test_stale_staging_is_removed_and_a_moved_aside_output_restored(tmp_path):
    dead, alive = _dead_pid(), os.getpid()
    mine_dead = tmp_path / f".out.{dead}.0123abcd.tmp"
    other_dead = tmp_path / f".other.{dead}.89abcdef.tmp"
    live = tmp_path / f".out.{alive}.00000000.tmp"
    old = tmp_path / f".out.{dead}.fedcba98.old"
    stale_file = tmp_path / f".plan.lp.{dead}.11111111.tmp"
    stale_lock = tmp_path / ".other.lock"
    users = tmp_path / ".users.lock"  # not one of ours: left alone
    for d in (mine_dead, other_dead, live, old):
        d.mkdir()
        (d / "x.csv").write_text("1\n")
    stale_file.write_text("half an LP")
    stale_lock.write_text(f"capacity {dead}\n")
    users.write_text("something else\n")
    with claim_destination(tmp_path / "out", overwrite=True):
        pass
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted([live.name, "out", users.name])
    assert (tmp_path / "out" / "x.csv").read_text() == "1\n"  # the killed run's old output


def test_process_alive():
    assert process_alive(os.getpid())
    assert not process_alive(_dead_pid())


def test_manifest_lists_every_other_file(run_cli, tmp_path):
    out = tmp_path / "v"
    code, _, err = run_cli("value", "--out", str(out), "--format", "json")
    assert code == 0, err
    listed = json.loads((out / "manifest.json").read_text())["files"]
    assert sorted(listed) == sorted(p.name for p in out.iterdir() if p.name != "manifest.json")
    for name, meta in listed.items():
        data = (out / name).read_bytes()
        assert meta == {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v"]  # no lock file, no staging
