"""Counter-based random numbers: every draw is a pure function of (seed, stream key, purpose, counter).

Two runs of one seed must see the same market even when our pricing differs (common random numbers): the k-th
submit of a row gets the k-th submit-latency draw of that row, whatever happened before it, and a competitor's
check times do not shift because we sent one more price. A sequential generator cannot give that once the number
of draws depends on the strategy; a hash of the draw's coordinates can, and it vectorises over rows.

The hash is splitmix64's finaliser over ``base + (counter * LANES + lane) * golden``, where ``base`` is itself a
hash of (seed, purpose, key, sub). ``base`` is fixed per stream, so the market computes it once per row and each
draw costs one mix. ``lane`` gives one draw several independent values. numpy wraps uint64 arrays silently, which
is the arithmetic the hash needs; only uint64 *scalars* would warn, so every operand here is an array.
"""

from __future__ import annotations

import enum
import math
from typing import Final, cast

import numpy as np
import numpy.typing as npt

__all__ = [
    "LANES",
    "Purpose",
    "exponential",
    "lognormal",
    "lognormal_quantile",
    "normal",
    "normal_from",
    "quantile_sigma",
    "stream_base",
    "uniform",
    "uniform_from",
]

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

LANES: Final = 8  # independent uniforms per (stream, counter)


def _u64(value: int) -> U64:
    """A uint64 constant as a 0-d array: an array operand (see the module docstring), which numpy also combines
    with an array faster than a uint64 scalar, and a draw of a few values is mostly such overhead."""
    return np.array(value, np.uint64)


_GOLDEN: Final = _u64(0x9E3779B97F4A7C15)
_M1: Final = _u64(0xBF58476D1CE4E5B9)
_M2: Final = _u64(0x94D049BB133111EB)
_S30: Final = _u64(30)
_S27: Final = _u64(27)
_S31: Final = _u64(31)
_S11: Final = _u64(11)
_COUNTER_STEP: Final = _u64(LANES * 0x9E3779B97F4A7C15 % 2**64)
_LANE_STEP: Final = tuple(_u64(lane * 0x9E3779B97F4A7C15 % 2**64) for lane in range(LANES))
_TO_UNIT: Final = 2.0**-53
_TO_UNIT32: Final = 2.0**-32
_S32: Final = _u64(32)
_LOW32: Final = _u64(0xFFFFFFFF)

# Standard normal quantiles for the latency models' tails.
Z_90: Final = 1.2815515655446004
Z_95: Final = 1.6448536269514722


class Purpose(enum.IntEnum):
    """What a stream is for. Each purpose is its own stream, so adding draws of one kind never shifts another."""

    SUBMIT_LATENCY = 1
    NEVER_APPLY = 2
    RECOMPUTE = 3
    ROTATION = 4
    NOTIF_DELAY = 5
    NOTIF_DROP = 6
    NOTIF_DUP = 7
    NOTIF_REORDER = 8
    FOEP_NOISE = 9
    FOEP_REFRESH = 10
    COMPETITOR_CADENCE = 11
    COMPETITOR_LATENCY = 12
    COMPETITOR_PRICE = 13
    PAGE_VIEWS = 14
    SALE = 15
    ORDER_LIFECYCLE = 16
    COEFFICIENTS = 17
    SCENARIO_DRAWS = 18
    INITIAL_LIVE = 19
    IDS = 20
    FOEP_BIAS = 21
    LISTING_LAG = 22
    # The Buy Box model's hidden draws (numbered apart from the purposes above, which grow one by one).
    QUALITY = 40
    SEGMENTS = 41


_KEY_SALT: Final = np.uint64(0xD1B54A32D192ED03)


def _mix(z: U64) -> U64:
    """splitmix64's output function: a bijection on 64 bits with full avalanche."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


def _as_u64(values: npt.ArrayLike) -> U64:
    """int64 values as uint64 bits, always an array: uint64 *scalars* warn on the wrap-around the hash needs."""
    if isinstance(values, np.ndarray) and values.dtype == np.int64 and values.ndim and values.flags.c_contiguous:
        return values.view(np.uint64)  # the usual counters, without three conversions that would change nothing
    arr = np.asarray(values, dtype=np.int64)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    return np.ascontiguousarray(arr).view(np.uint64)


def stream_base(seed: npt.ArrayLike, keys: npt.ArrayLike, purpose: int, sub: npt.ArrayLike = 0) -> U64:
    """The fixed part of each stream's hash: one per (seed, purpose, key, sub), shaped like ``keys``/``sub``
    (``seed`` is one for all, or one per key, shaped to broadcast with them)."""
    head = _mix(_as_u64(seed) * _GOLDEN + _as_u64(purpose))
    key_u, sub_u = (cast(U64, a) for a in np.broadcast_arrays(_as_u64(keys), _as_u64(sub)))
    # The key is salted with a constant of its own: hashing it like the (seed, purpose) head would make key =
    # purpose collide with the head (seed 1, key 3 = RECOMPUTE gave a zero base, and every draw of it 0).
    return _mix(_mix(head + _mix(key_u ^ _KEY_SALT)) + sub_u * _GOLDEN)


def _bits(base: U64, counter: npt.ArrayLike, lane: int) -> U64:
    # base + (counter * LANES + lane) * golden, distributed (uint64 arithmetic wraps: the same bits, one step less).
    step: U64 = base + _as_u64(counter) * _COUNTER_STEP
    if lane:
        step += _LANE_STEP[lane]
    return _mix(step)


def uniform_from(base: U64, counter: npt.ArrayLike, lane: int = 0) -> F64:
    """Uniforms in the open interval (0, 1): draw number ``counter`` (per element) of the streams ``base``."""
    return ((_bits(base, counter, lane) >> _S11).astype(np.float64) + 0.5) * _TO_UNIT


def normal_from(base: U64, counter: npt.ArrayLike, lane: int = 0) -> F64:
    """Standard normals by Box-Muller from one 64-bit draw split into two 32-bit uniforms.

    32 bits per uniform bound |z| below about 6.7, far beyond any tail the latency models need.
    """
    bits = _bits(base, counter, lane)
    u1 = ((bits >> _S32).astype(np.float64) + 0.5) * _TO_UNIT32
    u2 = ((bits & _LOW32).astype(np.float64) + 0.5) * _TO_UNIT32
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * math.pi * u2)


def uniform(
    seed: int, keys: npt.ArrayLike, purpose: int, counter: npt.ArrayLike, lane: int = 0, sub: npt.ArrayLike = 0
) -> F64:
    """Uniforms in (0, 1) for (seed, key, purpose, counter); the one-call form of `stream_base` + `uniform_from`."""
    return uniform_from(stream_base(seed, keys, purpose, sub), counter, lane)


def normal(
    seed: int, keys: npt.ArrayLike, purpose: int, counter: npt.ArrayLike, lane: int = 0, sub: npt.ArrayLike = 0
) -> F64:
    """Standard normals for (seed, key, purpose, counter)."""
    return normal_from(stream_base(seed, keys, purpose, sub), counter, lane)


def quantile_sigma(median: float, quantile: float, z: float) -> float:
    """The log-normal σ whose quantile at standard-normal score ``z`` is ``quantile`` given ``median``."""
    if not 0 < median < quantile:
        raise ValueError(f"need 0 < median < quantile, got median={median}, quantile={quantile}")
    return math.log(quantile / median) / z


def lognormal(median: npt.ArrayLike, sigma: float, z: F64, cap: npt.ArrayLike | None = None) -> F64:
    """``median * exp(sigma * z)`` for standard normals ``z``, optionally capped (latency tails are bounded)."""
    value = np.asarray(median, np.float64) * np.exp(sigma * z)
    return value if cap is None else np.minimum(value, np.asarray(cap, np.float64))


def lognormal_quantile(
    median: npt.ArrayLike,
    z: F64,
    *,
    p90: float | None = None,
    p95: float | None = None,
    cap: npt.ArrayLike | None = None,
) -> F64:
    """Log-normal values given the median and one upper quantile (p90 or p95, as ratios to the median)."""
    if (p90 is None) == (p95 is None):
        raise ValueError("give exactly one of p90 and p95 (as a ratio to the median)")
    sigma = quantile_sigma(1.0, p90, Z_90) if p90 is not None else quantile_sigma(1.0, float(p95 or 0.0), Z_95)
    return lognormal(median, sigma, z, cap)


def exponential(mean: npt.ArrayLike, u: F64) -> F64:
    """Exponential waiting times with ``mean`` from uniforms ``u`` in (0, 1) (inverse transform)."""
    return -np.asarray(mean, np.float64) * np.log(u)
