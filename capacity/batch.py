"""A leading batch axis through the model's equations: one draw or many, same functions.

A stress run evaluates a batch of B draws at once: every input that varies across draws is
an array of shape (B,) instead of a float, and every number derived from it carries the batch
as its first axis ((B, T), (B, T, C), ...). The equations of :mod:`capacity.compute_demand`,
:mod:`capacity.planner` and :mod:`capacity.finance` are written once, for either: with no
batch (floats in) they compute exactly what they always did, with the same operations in the
same order, so one draw of a batch equals the same draw computed alone.

The helpers below are the only places that know about the batch axis. Matrix products and
dot products over a batch are taken draw by draw (:func:`matvec`, :func:`dot`): a draw's
result then does not depend on which batch it is in or on the batch's size (a BLAS kernel
chosen by shape could round differently).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def per_draw(x: Any, trailing: int = 1) -> Any:
    """``x`` ready to broadcast against an array of ``trailing`` more axes.

    A float (or 0-d array) is returned unchanged; an array of per-draw values, shape (B, ...),
    gets ``trailing`` axes of length 1 appended, so ``per_draw(rate, 1) * k`` is (B, N) for
    k of shape (N,). [unit of x]
    """
    if np.ndim(x) == 0:
        return x
    a = np.asarray(x)
    return a.reshape(a.shape + (1,) * trailing)


def batch_shape(*xs: Any) -> tuple[int, ...]:
    """The batch shape of per-draw values ``xs`` (floats or (B,) arrays): () or (B,)."""
    return np.broadcast_shapes(*(np.shape(x) for x in xs))


def stack_last(values: list[Any]) -> np.ndarray:
    """Per-draw values (floats or (B,) arrays) as one array, shape (K,) or (B, K). [unit]"""
    if not values:
        return np.zeros(0)
    if all(np.ndim(v) == 0 for v in values):
        return np.array(values, float)
    return np.stack(np.broadcast_arrays(*[np.asarray(v, float) for v in values]), axis=-1)


def number(x: Any) -> Any:
    """A per-draw value as a float (no batch) or a float array (batch). [unit of x]"""
    return float(x) if np.ndim(x) == 0 else np.asarray(x, float)


def matvec(m: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``m @ v`` draw by draw: ``m`` (N, K) or (B, N, K), ``v`` (K,) or (B, K); shape (N,) or
    (B, N). [unit of m x unit of v]"""
    m, v = np.asarray(m), np.asarray(v)
    if m.ndim == 2 and v.ndim == 1:
        return m @ v
    b = m.shape[0] if m.ndim == 3 else v.shape[0]
    ms = m if m.ndim == 3 else [m] * b
    vs = v if v.ndim == 2 else [v] * b
    return np.stack([x @ y for x, y in zip(ms, vs, strict=True)])


def dot(u: np.ndarray, v: np.ndarray) -> Any:
    """``u @ v`` over the last axis, draw by draw: a float, or shape (B,). [unit of u x v]"""
    u, v = np.asarray(u), np.asarray(v)
    if u.ndim == 1 and v.ndim == 1:
        return float(u @ v)
    u, v = np.broadcast_arrays(u, v)
    return np.array([float(x @ y) for x, y in zip(u, v, strict=True)])


def step_index(starts: Any, at: Any) -> np.ndarray:
    """Which step is in force at each point of ``at``, each step holding from its start until
    the next one. [index into ``starts``]

        i(x) = the k with the largest starts[k] <= x;   -1 when x is before every start

    ``starts`` (K,) and ``at`` (N,) are positions on one ordered axis (quarter numbers,
    period ordinals); ``starts`` may come in any order (of equal starts the later one holds).
    """
    starts, at = np.asarray(starts), np.asarray(at)
    if starts.size == 0:
        return np.full(at.shape, -1, np.int64)
    order = np.argsort(starts, kind="stable")
    pos = np.searchsorted(starts[order], at, side="right") - 1
    return np.where(pos >= 0, order[np.maximum(pos, 0)], -1)


def step_values(index: np.ndarray, values: list[Any], default: float = 0.0) -> np.ndarray:
    """The value of the step in force at each point: ``values[index]``, ``default`` where
    ``index`` is -1 (:func:`step_index`). [unit of the values]

    ``values`` are per-draw values (floats or (B,) arrays); shape (N,), or (B, N) when one is
    per draw.
    """
    index = np.asarray(index)
    v = stack_last(values)
    out = np.full((*batch_shape(*values), len(index)), default, float)
    held = index >= 0
    out[..., held] = v[..., index[held]]
    return out
