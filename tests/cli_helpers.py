"""Helpers for running the CLI in-process from tests (module-scoped fixtures cannot use capsys)."""

from __future__ import annotations

import contextlib
import io
import json

from capacity.cli import main


def cli_json(*args: str) -> dict:
    """Run ``capacity ARGS --format json`` in-process; assert exit 0 and return the object."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main([*args, "--format", "json"])
    assert code == 0, args
    return json.loads(buf.getvalue())


def strings(doc) -> list[str]:
    """Every string value (not key) of a JSON document."""
    if isinstance(doc, dict):
        return [s for v in doc.values() for s in strings(v)]
    if isinstance(doc, list):
        return [s for v in doc for s in strings(v)]
    return [doc] if isinstance(doc, str) else []
