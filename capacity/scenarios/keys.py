"""Dotted keys: flatten nested tables, get and set a key in a tree, apply override layers
and log every change."""

from __future__ import annotations

import copy
import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from capacity.errors import InputError
from capacity.scenarios.positions import key_where
from capacity.schemas import shown_text


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested tables -> ``{"a.b.c": leaf}``. Lists and scalars are leaves."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            out.update(flatten(value, path))
        else:
            out[path] = value
    return out


def get_key(tree: dict[str, Any], path: str) -> Any:
    """The value at dotted ``path`` in a nested tree, ``None`` where a part is missing."""
    node: Any = tree
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def set_key(tree: dict[str, Any], path: str, value: Any) -> None:
    """Set dotted ``path`` in a nested tree, making (or replacing by) tables along the way."""
    parts = path.split(".")
    node = tree
    for part in parts[:-1]:
        nxt = node.get(part)
        if not isinstance(nxt, dict):
            nxt = {}
            node[part] = nxt
        node = nxt
    node[parts[-1]] = value


def source_of(sources: dict[str, str], key: str) -> str:
    """Source of a dotted input key: the entry for its longest prefix in ``sources`` ("" if none).

    ``[sources]`` may cover a whole table (``fleet.efficiency``) or one key in it.
    """
    parts = key.split(".")
    for n in range(len(parts), 0, -1):
        hit = sources.get(".".join(parts[:n]))
        if hit:
            return hit
    return ""


@dataclass(frozen=True)
class Change:
    """One key a scenario changed relative to the baseline."""

    key: str
    old: Any
    new: Any
    origin: str
    """``file`` or ``file [override name]`` the change came from."""

    def as_record(self) -> dict[str, Any]:
        return {"key": self.key, "old": _jsonable(self.old), "new": _jsonable(self.new),
                "origin": self.origin}


def _jsonable(v: Any) -> Any:
    """JSON-safe copy: NaN -> None, TOML dates/times -> ISO text, recursively."""
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, dt.date | dt.time):
        return v.isoformat()
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    return v


@dataclass(frozen=True)
class Layer:
    """One override step: flat changes, the file they are written in and the table holding them.

    Attributes
    ----------
    origin
        ``file`` or ``file [override name]``: the label of every :class:`Change` it makes.
    changes
        ``{dotted.key: value}``, a key ending in ``+`` appending to a list.
    path
        The file the keys are written in (``<command line>`` for ``--set``).
    table
        Dotted path, within ``path``, of the table the keys are written under (``set``,
        ``override.NAME``; ``""`` when they are not in a file's table), for the ``file:line`` of a
        key in an error (:func:`capacity.scenarios.positions.key_where`).
    """

    origin: str
    changes: dict[str, Any]
    path: Path
    table: str = ""


def apply_layers(base: dict[str, Any], layers: list[Layer]
                 ) -> tuple[dict[str, Any], list[Change], dict[str, Layer]]:
    """Apply ``layers`` in order to a copy of ``base``.

    Returns
    -------
    tuple
        The new tree; every change, in order; and for each key changed, the last layer that set
        it (a key that replaces a whole table takes the keys set below it before).
    """
    tree = copy.deepcopy(base)
    changes: list[Change] = []
    origin_of: dict[str, Layer] = {}
    for layer in layers:
        for key, value in layer.changes.items():
            append = key.endswith("+")
            k = key[:-1] if append else key
            if any(not part.strip() for part in k.split(".")):
                where = key_where(layer.path, layer.table, key)
                raise InputError(f"{where}: {shown_text(key, 80)}", "a dotted key with an "
                                 "empty part (write names like planner.pue)")
            old = copy.deepcopy(get_key(tree, k))
            if append:
                if old is not None and not isinstance(old, list):
                    raise InputError(f"{layer.path}: {key}", "'+' appends to a list, but the key "
                                     "is not a list")
                if not isinstance(value, list):
                    value = [value]
                new = (old or []) + value
            else:
                new = value
            set_key(tree, k, new)
            changes.append(Change(k, old, new, layer.origin))
            for below in [o for o in origin_of if o.startswith(k + ".")]:
                del origin_of[below]  # replaced with the rest of the table: this layer set it
            origin_of[k] = layer
    return tree, changes, origin_of


def later_origins(earlier: dict[str, Layer], later: dict[str, Layer]) -> dict[str, Layer]:
    """The layer that set each key after ``later``'s layers were applied over ``earlier``'s:
    a key ``later`` sets replaces ``earlier``'s keys below it too (``finance`` given on the
    command line is to blame for ``finance``, not a vintage's ``finance.shares_m``)."""
    out = {k: layer for k, layer in earlier.items()
           if not any(k == top or k.startswith(top + ".") for top in later)}
    return {**out, **later}
