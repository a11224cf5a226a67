"""A visual Turing study: which images can be shown, and how a participant's trials are drawn.

As in the paper (Shrivastava et al. 2017, Sec. 4.1), a participant sees N real and N refined
images in random order and labels each "real" or "refined"; with a raw synthetic set a second
condition, real vs synthetic, measures how easy the task is without the refiner. Participants
are assigned to one condition each (between subjects), to whichever has fewer sessions so
far, so the two conditions fill up evenly and nobody learns the task in one condition before
taking the other.

Each source's pool is split once (fixed seed) into a few labelled example images, shown before
the test, and the test images, so no example ever appears as a trial.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from simgan.errors import SimganError
from simgan.web.pool import POOL_SEED, ImagePool, harmonize, load_pool

TRUTHS = ("real", "fake")  # "fake" means refined or synthetic, as the condition says


@dataclass(frozen=True)
class Condition:
    """One comparison: real against the images of `other` (a pool source)."""

    name: str  # "refined" or "synthetic"
    other: str  # pool source of the non-real images: "fake" or "synthetic"
    other_label: str  # the word participants see for the non-real answer


CONDITIONS = {
    "refined": Condition("refined", "fake", "Refined"),
    "synthetic": Condition("synthetic", "synthetic", "Synthetic"),
}


@dataclass(frozen=True)
class Trial:
    """One image a participant is asked about. truth: "real" or "fake"."""

    source: str
    row: int
    truth: str


class Study:
    """The images of a study and how they are drawn; no state beyond the image pools."""

    def __init__(
        self,
        real: ImagePool,
        fake: ImagePool,
        synthetic: ImagePool | None = None,
        n: int = 10,
        n_examples: int = 6,
    ) -> None:
        if n < 1 or n_examples < 0:
            raise SimganError(f"--n must be at least 1 (got {n})")
        self.n = n
        self.n_examples = n_examples
        self.pools: dict[str, ImagePool] = {"real": real, "fake": fake}
        if synthetic is not None:
            self.pools["synthetic"] = synthetic
        harmonize(list(self.pools.values()))
        self.conditions = [CONDITIONS["refined"]]
        if synthetic is not None:
            self.conditions.append(CONDITIONS["synthetic"])
        self.examples: dict[str, list[int]] = {}
        self.test_rows: dict[str, np.ndarray] = {}
        for source, pool in self.pools.items():
            need = n + n_examples
            if len(pool) < need:
                raise SimganError(
                    f"{pool.path or source}: has {len(pool)} images but a study with --n {n} "
                    f"needs at least {need} ({n_examples} examples + {n} test images); "
                    "lower --n or give a larger file"
                )
            order = np.random.default_rng(POOL_SEED).permutation(pool.rows)
            self.examples[source] = [int(r) for r in order[:n_examples]]
            self.test_rows[source] = np.sort(order[n_examples:])

    @classmethod
    def from_files(
        cls,
        real: str | os.PathLike,
        fake: str | os.PathLike,
        synthetic: str | os.PathLike | None = None,
        n: int = 10,
        n_examples: int = 6,
        max_pool: int = 1000,
    ) -> Study:
        """Load the pools from simgan dataset files (at most `max_pool` images each)."""
        max_pool = max(max_pool, n + n_examples)
        pools = [load_pool(real, "real", max_pool), load_pool(fake, "fake", max_pool)]
        syn = load_pool(synthetic, "synthetic", max_pool) if synthetic else None
        return cls(pools[0], pools[1], syn, n=n, n_examples=n_examples)

    def condition(self, name: str) -> Condition:
        """The condition called `name`; KeyError when there is none."""
        for c in self.conditions:
            if c.name == name:
                return c
        raise KeyError(name)

    def fingerprint(self) -> dict:
        """What must not change between restarts on the same database."""
        return {
            "conditions": [c.name for c in self.conditions],
            "n_examples": self.n_examples,
            "sources": {
                s: {"images": len(p), "shape": list(p.images.shape[1:]), "digest": p.digest()}
                for s, p in self.pools.items()
            },
        }

    def assign(self, sessions_per_condition: Mapping[str, int]) -> Condition:
        """The condition with the fewest sessions so far (ties: the order of `conditions`)."""
        return min(self.conditions, key=lambda c: sessions_per_condition.get(c.name, 0))

    def draw(
        self,
        condition: Condition,
        usage: Mapping[tuple[str, int], int],
        rng: np.random.Generator,
    ) -> list[Trial]:
        """N real and N other test images in random order.

        The least shown images are taken first (random among equals), so every image gets
        seen about equally often and per-image mistake counts mean something.
        """
        trials = []
        for source, truth in (("real", "real"), (condition.other, "fake")):
            rows = self.test_rows[source]
            shown = np.array([usage.get((source, int(r)), 0) for r in rows])
            order = np.lexsort((rng.random(len(rows)), shown))
            trials += [Trial(source, int(r), truth) for r in rows[order[: self.n]]]
        return [trials[i] for i in rng.permutation(len(trials))]
