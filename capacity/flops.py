"""FLOP arithmetic of a workload: the length of a quarter, the compute of training and serving a
model, the effective EFLOPS that run a FLOP budget in a window, and the time it takes.

Pure functions of numbers; no inputs, no files. Every compute figure is in *effective* EFLOPS
(dense FP16 peak x the chip's efficiency factor, see :mod:`capacity.compute_demand`); the
utilisation (MFU, or the serving utilisation) carries the absolute utilisation on top of that::

    QUARTER_SECONDS [s]     = 365.25 / 4 days x 86,400 s = 7,889,400
    C_train [FLOP]          = 6 x N x D          (N parameters, D training tokens)
    C_serve [FLOP]          = 2 x N x D          (D served tokens)
    F [effective EFLOPS]    = C / (T x m) / 1e18 (run C in T seconds at utilisation m)
    T [s]                   = C / (F x 1e18 x m)
"""

from __future__ import annotations

import math

QUARTER_DAYS = 365.25 / 4
"""Length of a quarter. [days]"""
SECONDS_PER_DAY = 86_400.0
QUARTER_SECONDS = QUARTER_DAYS * SECONDS_PER_DAY
"""Length of a quarter: 7,889,400. [s]"""
TRAINING_FLOP_PER_PARAM_TOKEN = 6.0
"""Forward + backward pass FLOP per parameter per training token. [FLOP]"""
INFERENCE_FLOP_PER_PARAM_TOKEN = 2.0
"""Forward pass FLOP per parameter per served token. [FLOP]"""


def model_flop(flop_per_param_token: float, params_bn: float, tokens_tn: float) -> float:
    """Compute of passing ``tokens_tn`` through a model of ``params_bn``: ``C = k N D``.

    Parameters
    ----------
    flop_per_param_token
        k: FLOP per parameter per token (6 to train, 2 to serve). [FLOP]
    params_bn
        Parameters N. [bn]
    tokens_tn
        Tokens D. [tn tokens]

    Returns
    -------
    float
        Compute; a batch of draws (arrays of shape (B,)) gives (B,). [FLOP]
    """
    return flop_per_param_token * params_bn * 1e9 * tokens_tn * 1e12


def training_flop(params_bn: float, tokens_tn: float) -> float:
    """Training compute ``C = 6 N D`` of N [bn] parameters on D [tn] tokens (:func:`model_flop`).
    [FLOP]

    Examples
    --------
    >>> training_flop(100, 10)  # 6 x 100e9 x 10e12
    6e+24
    """
    return model_flop(TRAINING_FLOP_PER_PARAM_TOKEN, params_bn, tokens_tn)


def inference_flop(params_bn: float, tokens_tn: float) -> float:
    """Serving compute ``C = 2 N D`` of D [tn] tokens on N [bn] parameters, one forward pass a
    token (:func:`model_flop`). [FLOP]"""
    return model_flop(INFERENCE_FLOP_PER_PARAM_TOKEN, params_bn, tokens_tn)


def required_effective_eflops(flop: float, seconds: float, mfu: float) -> float:
    """Effective EFLOPS that run ``flop`` in ``seconds`` at utilisation ``mfu``: C / (T m) / 1e18.

    Parameters
    ----------
    flop
        Compute. [FLOP]
    seconds
        Wall-clock window. [s]
    mfu
        Achieved over effective peak FLOP/s. [1]

    Returns
    -------
    float
        [effective EFLOPS]
    """
    return flop / (seconds * mfu) / 1e18


def run_seconds(flop: float, effective_eflops: float, mfu: float) -> float:
    """Wall-clock time of ``flop`` on ``effective_eflops`` at ``mfu``: C / (F 1e18 m).

    Returns
    -------
    float
        [s]

    Examples
    --------
    >>> run_seconds(6e24, 6.0, 0.4)  # 6e24 / (6e18 x 0.4)
    2500000.0
    """
    if effective_eflops <= 0:
        return math.inf
    return flop / (effective_eflops * 1e18 * mfu)
