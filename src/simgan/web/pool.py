"""The images a Turing study shows: a fixed in-memory pool per source, and their PNGs.

Images are picked by (source, row): `source` is "real", "fake" (refined) or "synthetic",
`row` the image's row in its dataset file. The pool is chosen deterministically from the
file's length, so a restarted server rebuilds the same pool and old trials still resolve.
Nothing here ever opens a path that came from a web request.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from simgan.data.dataset import DatasetReader
from simgan.errors import SimganError
from simgan.viz import to_pil

SOURCES = ("real", "fake", "synthetic")
POOL_SEED = 0  # fixed: the pool must be the same after a restart
DISPLAY_PX = 480  # long side of a served image, before CSS scaling


@dataclass
class ImagePool:
    """Images of one source held in memory. images: uint8 (P, H, W, C); rows: file rows (P,)."""

    source: str
    rows: np.ndarray
    images: np.ndarray
    path: str = ""

    def __post_init__(self) -> None:
        self._index = {int(r): i for i, r in enumerate(self.rows)}

    def __len__(self) -> int:
        return len(self.rows)

    def has(self, row: int) -> bool:
        """Whether file row `row` is in the pool."""
        return row in self._index

    def image(self, row: int) -> np.ndarray:
        """uint8 (H, W, C) of file row `row`; KeyError when it is not in the pool."""
        return self.images[self._index[row]]

    def digest(self) -> str:
        """A short hash of rows and pixels, to notice a different file after a restart."""
        h = hashlib.sha256()
        h.update(np.ascontiguousarray(self.rows, dtype=np.int64).tobytes())
        h.update(str(self.images.shape).encode())
        h.update(np.ascontiguousarray(self.images).tobytes())
        return h.hexdigest()[:16]

    @classmethod
    def from_array(cls, source: str, images: np.ndarray, path: str = "") -> ImagePool:
        """Wrap an in-memory array uint8 (N, H, W, C) as a pool of all its rows."""
        images = np.asarray(images)
        if images.ndim == 3:
            images = images[..., None]
        return cls(source, np.arange(len(images), dtype=np.int64), images, path)


def load_pool(path: str | os.PathLike, source: str, max_images: int = 1000) -> ImagePool:
    """Read up to `max_images` images of a simgan dataset file into memory.

    Small files are read whole. Large ones are read as a few contiguous blocks at positions
    fixed by POOL_SEED: contiguous reads decompress few HDF5 chunks, random rows would
    decompress one chunk per image.
    """
    with DatasetReader(path) as r:
        n = len(r)
        if n <= max_images:
            return ImagePool.from_array(source, r.read(0, n, labels=False)[0], str(path))
        block = max(1, max_images // 8)
        n_blocks = min(8, n // block)
        slots = np.random.default_rng(POOL_SEED).choice(n // block, n_blocks, replace=False)
        starts = np.sort(slots) * block
        parts = [r.read(int(s), int(s) + block, labels=False)[0] for s in starts]
    rows = np.concatenate([np.arange(s, s + block, dtype=np.int64) for s in starts])
    return ImagePool(source, rows, np.concatenate(parts), str(path))


def harmonize(pools: list[ImagePool]) -> None:
    """Give every pool the same image size and channel count, in place.

    A participant must not be able to tell the sources apart by size or colour mode, so
    different sizes are an error, and grayscale is widened to RGB when any source is RGB.
    Alpha is dropped (the page shows opaque images).
    """
    first = pools[0]
    for p in pools[1:]:
        if p.images.shape[1:3] != first.images.shape[1:3]:
            raise SimganError(
                f"{p.path or p.source}: images are {p.images.shape[1]}x{p.images.shape[2]} but "
                f"{first.path or first.source} has {first.images.shape[1]}x"
                f"{first.images.shape[2]}; participants could tell them apart by size, so "
                "give files of the same image size"
            )
    colour = any(p.images.shape[3] >= 3 for p in pools)
    for p in pools:
        c = p.images.shape[3]
        if c == 4:
            p.images = p.images[..., :3]
        elif c == 1 and colour:
            p.images = np.repeat(p.images, 3, axis=3)


def encode_png(image: np.ndarray, display_px: int = DISPLAY_PX) -> bytes:
    """uint8 (H, W, C) -> PNG bytes, enlarged by an integer factor with crisp pixels.

    The PNG carries no metadata, so its bytes say nothing about the source.
    """
    h, w = image.shape[:2]
    scale = max(1, display_px // max(h, w))
    buf = io.BytesIO()
    to_pil(image, scale).save(buf, format="PNG", optimize=False)
    return buf.getvalue()


class PngCache:
    """Encoded PNGs by (source, row, size), least recently used dropped first."""

    def __init__(self, pools: dict[str, ImagePool], capacity: int = 4096) -> None:
        self.pools = pools
        self.capacity = capacity
        self._items: OrderedDict[tuple[str, int, int], bytes] = OrderedDict()
        self._lock = threading.Lock()  # requests are served from several threads

    def get(self, source: str, row: int, display_px: int = DISPLAY_PX) -> bytes | None:
        """PNG bytes, or None when (source, row) is not a pool image."""
        pool = self.pools.get(source)
        if pool is None or not pool.has(row):
            return None
        key = (source, row, display_px)
        with self._lock:
            data = self._items.get(key)
            if data is not None:
                self._items.move_to_end(key)
                return data
        data = encode_png(pool.image(row), display_px)
        with self._lock:
            self._items[key] = data
            if len(self._items) > self.capacity:
                self._items.popitem(last=False)
        return data
