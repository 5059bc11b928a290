"""Amazon-shaped identifiers for simulated things, deterministic so that a run can be replayed and compared.

Real ids have shapes the adapter and its parsers check ("B0" ASINs, 13–14 character seller ids,
"302-1234567-1234567" order ids); the simulator's follow those shapes so that the in-process market and the HTTP
fake exercise the same code paths as Amazon's data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np

from sim.rng import Purpose, stream_base

__all__ = [
    "AMAZON_SELLER_ID",
    "asin",
    "competitor_seller_id",
    "competitor_seller_ids",
    "order_id",
    "order_item_id",
    "our_seller_id",
    "sku",
]

AMAZON_SELLER_ID: Final = "AMAZON"  # Amazon retail's offers carry this seller id in the simulator
_ALPHABET: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ASIN_SPACE: Final = 36**8
_ASIN_STRIDE: Final = 2_654_435_761  # odd and not a multiple of 3: a bijection on 36**8 values


def _base36(value: int, width: int) -> str:
    chars = []
    for _ in range(width):
        value, digit = divmod(value, 36)
        chars.append(_ALPHABET[digit])
    return "".join(reversed(chars))


def _hash(*parts: int) -> int:
    """A 64-bit hash of a few ints (seller ids, order ids), from the same mixer as the random streams."""
    key, sub = parts[0], parts[1] if len(parts) > 1 else 0
    purpose = int(Purpose.IDS) + (parts[2] if len(parts) > 2 else 0)
    return int(stream_base(0, np.array([key % 2**63]), purpose, np.array([sub % 2**63]))[0])


def sku(row: int) -> str:
    """Our seller SKU of a row."""
    return f"SKU-{row:06d}"


def asin(row: int) -> str:
    """A distinct ASIN per row ("B0" + 8 characters), scrambled so neighbouring rows do not look alike."""
    return "B0" + _base36((row * _ASIN_STRIDE + 12_345_678) % _ASIN_SPACE, 8)


def our_seller_id(seller: int) -> str:
    """The merchant id of one of our simulated seller accounts."""
    return "A" + _base36(_hash(seller, 0, 1) % 36**13, 13)


def competitor_seller_id(stream_key: int, slot: int) -> str:
    """A competitor's merchant id: stable per (row, slot), so a snapshot's offers can be told apart."""
    return competitor_seller_ids(stream_key, [slot])[0]


def competitor_seller_ids(stream_key: int, slots: Sequence[int]) -> list[str]:
    """`competitor_seller_id` for several slots of one row in one hash call."""
    keys = np.full(len(slots), stream_key % 2**63, np.int64)
    hashes = stream_base(0, keys, int(Purpose.IDS) + 2, np.asarray(slots, np.int64))
    return ["A" + _base36(int(h) % 36**13, 13) for h in hashes]


def order_id(seed: int, stream_key: int, index: int) -> str:
    """An Amazon-like order id ("302-1234567-1234567") for the ``index``-th order of a row."""
    value = _hash(seed * 1_000_003 + stream_key, index, 3)
    return f"302-{value % 10**7:07d}-{(value // 10**7) % 10**7:07d}"


def order_item_id(seed: int, stream_key: int, index: int) -> str:
    """A 14-digit order item id."""
    return f"{_hash(seed * 1_000_003 + stream_key, index, 4) % 10**14:014d}"
