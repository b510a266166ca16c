"""docs/notebook.ipynb runs top to bottom and its assertions pass (issue 16, item 2).

Executed with nbclient in a fresh kernel of this interpreter, from the repository root; it uses
only the top-level API (checked on its source) and takes a few seconds.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "docs" / "notebook.ipynb"


def _code() -> list[str]:
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]


def test_notebook_uses_only_the_public_api():
    text = "\n".join(_code())
    assert not re.findall(r"from capacity\.|import capacity\.", text)
    used = set(re.findall(r"capacity\.([A-Za-z_]\w*)", text))
    import capacity

    assert used <= set(dir(capacity)), used - set(dir(capacity))
    assert text.count("assert ") >= 10


def test_notebook_runs_and_its_assertions_pass():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(ROOT)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
