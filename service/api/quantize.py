"""Cohere's embedding types: float vectors as int8/uint8, sign bits packed (binary/ubinary), or base64."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
from numpy.typing import NDArray


def int8(vectors: NDArray[np.float32]) -> NDArray[np.int8]:
    """Each component of the unit vector times 127, rounded: -127..127 (cosine to float ≥ 0.99 on MiniLM)."""
    scaled: NDArray[np.int8] = np.clip(np.rint(vectors * 127.0), -128, 127).astype(np.int8)
    return scaled


def uint8(vectors: NDArray[np.float32]) -> NDArray[np.uint8]:
    """The int8 values shifted by 128 into 0..255."""
    return (int8(vectors).astype(np.int16) + 128).astype(np.uint8)


def ubinary(vectors: NDArray[np.float32]) -> NDArray[np.uint8]:
    """One bit per dimension (1 where the component is > 0), first dimension in the highest bit, 8 per byte."""
    return np.packbits(vectors > 0, axis=1)


def binary(vectors: NDArray[np.float32]) -> NDArray[np.int8]:
    """The packed bytes of `ubinary` minus 128, as signed int8 (Cohere's and sentence-transformers' binary)."""
    return (ubinary(vectors).astype(np.int16) - 128).astype(np.int8)


def base64_floats(vectors: NDArray[np.float32]) -> list[str]:
    """Each vector's little-endian float32 bytes, base64-encoded."""
    rows = np.ascontiguousarray(vectors, dtype="<f4")
    return [base64.b64encode(row.tobytes()).decode("ascii") for row in rows]


def by_type(vectors: NDArray[np.float32], types: list[str]) -> dict[str, Any]:
    """{type: vectors in that type} for every requested type, in Cohere's key names."""
    convert = {"float": lambda v: v, "int8": int8, "uint8": uint8, "binary": binary, "ubinary": ubinary}
    return {
        kind: base64_floats(vectors) if kind == "base64" else convert[kind](vectors) for kind in dict.fromkeys(types)
    }
