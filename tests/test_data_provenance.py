"""Every shipped figure has a source; the data ships inside the installed package."""

from __future__ import annotations

from pathlib import Path

from capacity.scenarios import (
    data_dir,
    flatten,
    read_baseline,
    read_catalog,
    read_disclosures,
    source_of,
)

DOCS = Path(__file__).resolve().parent.parent / "docs" / "data.md"


def test_every_baseline_input_has_a_source():
    tree, sources = read_baseline()
    missing = [k for k in flatten(tree) if not source_of(sources, k)]
    assert not missing, f"inputs without a [sources] entry: {missing}"


def test_every_source_names_a_real_input():
    tree, sources = read_baseline()
    keys = set(flatten(tree))
    prefixes = {".".join(k.split(".")[:n]) for k in keys for n in range(1, len(k.split(".")) + 1)}
    stale = [k for k in sources if k not in prefixes]
    assert not stale, f"[sources] entries for inputs that do not exist: {stale}"


def test_disclosures_and_catalog_carry_sources():
    d = read_disclosures()
    assert (d["source"].str.len() > 10).all()
    assert d["published"].str.match(r"\d{4}-\d{2}-\d{2}").all()
    c = read_catalog()
    assert (c["source"].str.len() > 10).all()


def test_data_doc_is_up_to_date():
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_data_md", DOCS.parent /
                                                  "build_data_md.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert DOCS.read_text(encoding="utf-8") == mod.render(), (
        "docs/data.md is out of date: run python docs/build_data_md.py")


def test_data_dir_is_found():
    assert (data_dir() / "chips.csv").is_file()
    assert (data_dir() / "baseline.toml").is_file()
