"""Read a pickle without running code from it: only plain containers and NumPy arrays.

pickle.load can call any function named in the file, so a downloaded .pkl could run
anything. This Unpickler resolves only the few globals needed to rebuild NumPy arrays,
dtypes and scalars (plus OrderedDict and codecs.encode); anything else stops the load
with a clear error.
Python 2 pickles (SynthesEyes) need encoding="latin1", which NumPy understands.
"""

from __future__ import annotations

import codecs
import collections
import io
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from simgan.errors import SimganError


def _numpy_globals() -> dict[tuple[str, str], Any]:
    try:
        from numpy._core import multiarray, numeric  # NumPy >= 2
    except ImportError:  # pragma: no cover - NumPy 1.x
        from numpy.core import multiarray, numeric
    allowed = {
        ("multiarray", "_reconstruct"): multiarray._reconstruct,
        ("multiarray", "scalar"): multiarray.scalar,
        ("numeric", "_frombuffer"): numeric._frombuffer,
    }
    out: dict[tuple[str, str], Any] = {}
    for prefix in ("numpy.core", "numpy._core"):  # pickles name either, by NumPy version
        for (mod, name), obj in allowed.items():
            out[(f"{prefix}.{mod}", name)] = obj
    out[("numpy", "ndarray")] = np.ndarray
    out[("numpy", "dtype")] = np.dtype
    out[("collections", "OrderedDict")] = collections.OrderedDict
    # Python 3 writes bytes into protocol-2 pickles as _codecs.encode(text, "latin1"):
    # it turns text into bytes and can do nothing else
    out[("_codecs", "encode")] = codecs.encode
    return out


class RefusedGlobal(pickle.UnpicklingError):
    """The pickle names a function or class outside the allow-list."""


class SafeUnpickler(pickle.Unpickler):
    """An Unpickler that refuses every global outside a small NumPy allow-list."""

    ALLOWED = _numpy_globals()

    def find_class(self, module: str, name: str) -> Any:
        obj = self.ALLOWED.get((module, name))
        if obj is None:
            raise RefusedGlobal(f"refusing to load '{module}.{name}'")
        return obj


def safe_load(path: str | os.PathLike) -> Any:
    """Load a pickle file holding only dicts, lists, tuples, numbers, strings and arrays."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise SimganError(f"{path}: cannot read ({e.strerror})") from None
    try:
        return SafeUnpickler(io.BytesIO(data), encoding="latin1").load()
    except RefusedGlobal as e:
        raise SimganError(
            f"{path}: {e}; only plain data and NumPy arrays are read from pickles, "
            "for safety (this file may not be a SynthesEyes label file)"
        ) from None
    except Exception as e:  # a corrupt pickle can raise almost anything
        raise SimganError(
            f"{path}: not a readable pickle ({str(e)[:80] or type(e).__name__})"
        ) from None
