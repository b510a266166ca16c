"""The one writer (capacity.report.write): model files, atomic writes, temporary names."""

from __future__ import annotations

import os
import stat

import pulp
import pytest

from capacity import lp
from capacity.errors import InputError
from capacity.report.write import staging_path, write_lp, write_mps, write_text_atomic


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


@pytest.mark.parametrize(("writer", "pulp_method"), [(write_lp, "writeLP"),
                                                     (write_mps, "writeMPS")])
def test_model_file_same_bytes_as_pulp_and_no_temporaries(tmp_path, writer, pulp_method):
    prob = _tiny_problem()
    ref = tmp_path / "ref"
    getattr(prob, pulp_method)(str(ref))
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
