"""The paper's history of refined images (Shrivastava et al. 2017, section 2.3).

Every discriminator update sees b refined images: half refined by the current R, half drawn
at random from a buffer of earlier refined images; then b/2 randomly chosen buffer slots are
overwritten with current refined images. D thus keeps rejecting artifacts R produced in the
past, which damps oscillation. This is NOT CycleGAN's image pool (a per-image coin flip
that swaps the image with a pool entry).

Layout of ``mix(refined)`` for a batch of b images, with k = b // 2:
- rows [0, b - k) of the result are ``refined[: b - k]`` (current images; the extra one of
  an odd b goes to this half), rows [b - k, b) are k images drawn uniformly WITHOUT
  replacement from the filled part of the buffer;
- then ``refined[b - k :]`` (the k current images D did not see this time, so each refined
  image reaches D once, now or later) are written into the buffer: appended while it is
  filling, else into k distinct random slots;
- while the buffer holds fewer than k images, the result is all b current images and
  ``refined[b - k :]`` are stored.
For b = 1 there is no history half; the single image is shown and also stored.
The history rows are drawn BEFORE the current images are stored, so they always come from
earlier calls. Storage lives on CPU (or ``device``) and is allocated on the first call.
"""

from __future__ import annotations

import torch

from simgan.errors import SimganError


class HistoryBuffer:
    """Buffer of up to ``capacity`` refined images (C, H, W), with its own random generator."""

    def __init__(
        self,
        capacity: int,
        seed: int = 0,
        dtype: torch.dtype = torch.float32,
        device: str | torch.device = "cpu",
    ) -> None:
        if capacity < 1:
            raise SimganError(f"history buffer capacity must be >= 1 (got {capacity})")
        self.capacity = int(capacity)
        self.seed = int(seed)
        self.dtype = dtype
        self.device = torch.device(device)
        self.images: torch.Tensor | None = None  # (capacity, C, H, W), allocated lazily
        self.count = 0  # slots [0, count) hold images
        self.written = 0  # images written in total (appends + overwrites)
        self.last_history_rows = 0  # rows of the last mix() result that came from the buffer
        # mix() and sample() draw from separate generators, so logging with sample() does
        # not change which images training sees.
        self.generator = torch.Generator().manual_seed(self.seed)
        self.sample_generator = torch.Generator().manual_seed(self.seed + 1)

    def __len__(self) -> int:
        return self.count

    def _ensure_storage(self, image_shape: tuple[int, ...]) -> None:
        if self.images is None:
            self.images = torch.empty(
                (self.capacity, *image_shape), dtype=self.dtype, device=self.device
            )
        elif tuple(self.images.shape[1:]) != tuple(image_shape):
            raise SimganError(
                f"refined images of shape {tuple(image_shape)} do not match the history "
                f"buffer's {tuple(self.images.shape[1:])}; use one image size per run"
            )

    def _store(self, new: torch.Tensor) -> None:
        """Append while filling, overwrite distinct random slots once full. new: (k, C, H, W)."""
        assert self.images is not None
        new = new.to(device=self.device, dtype=self.dtype)
        n_append = min(len(new), self.capacity - self.count)
        if n_append:
            self.images[self.count : self.count + n_append] = new[:n_append]
        rest = new[n_append:]
        if len(rest):
            # Slots among those filled before this call (all of them when the buffer was full).
            pool = self.count if self.count >= len(rest) else self.capacity
            slots = torch.randperm(pool, generator=self.generator)[: len(rest)]
            self.images[slots.to(self.device)] = rest
        self.count += n_append
        self.written += len(new)

    def mix(self, refined: torch.Tensor) -> torch.Tensor:
        """Half current, half history batch for a D update (see the module docstring).

        refined: (b, C, H, W) current refined images (detached here). Returns (b, C, H, W)
        on refined's device and dtype.
        """
        if refined.ndim != 4 or len(refined) == 0:
            raise SimganError(
                f"history buffer expects a (b, C, H, W) batch, got {tuple(refined.shape)}"
            )
        b = len(refined)
        k = b // 2
        if k > self.capacity:
            raise SimganError(
                f"history buffer capacity {self.capacity} is smaller than half the batch "
                f"({k}); set the capacity to at least {k}"
            )
        refined = refined.detach()
        self._ensure_storage(tuple(refined.shape[1:]))
        assert self.images is not None
        if self.count >= k and k > 0:
            idx = torch.randperm(self.count, generator=self.generator)[:k]
            past = self.images[idx.to(self.device)].to(device=refined.device, dtype=refined.dtype)
            out = torch.cat([refined[: b - k], past])
            self.last_history_rows = k
        else:
            out = refined.clone()
            self.last_history_rows = 0
        self._store(refined[b - k :] if k > 0 else refined)
        return out

    def sample(self, k: int) -> torch.Tensor:
        """min(k, len(self)) stored images drawn uniformly without replacement, (k, C, H, W)
        on the buffer's device, e.g. to log D's accuracy on history images alone. Uses its
        own generator, so it does not change what ``mix`` draws."""
        if self.images is None:
            raise SimganError("the history buffer is empty; call mix() before sample()")
        idx = torch.randperm(self.count, generator=self.sample_generator)[: max(0, k)]
        return self.images[idx.to(self.device)].clone()

    def stats(self) -> dict:
        """Fill level for logging: filled, capacity, written (images written in total)."""
        return {"filled": self.count, "capacity": self.capacity, "written": self.written}

    def state_dict(self) -> dict:
        """Stored images, counters and generator states; tensors and plain Python types only,
        so a checkpoint holding it loads with torch.load(weights_only=True)."""
        images = None
        if self.images is not None:
            images = self.images[: self.count].cpu().clone()
        return {
            "capacity": self.capacity,
            "seed": self.seed,
            "count": self.count,
            "written": self.written,
            "image_shape": None if self.images is None else list(self.images.shape[1:]),
            "images": images,
            "generator": self.generator.get_state(),
            "sample_generator": self.sample_generator.get_state(),
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore a state_dict; later draws are then identical to the saved buffer's."""
        count = int(state["count"])
        if count > self.capacity:
            raise SimganError(
                f"saved history buffer holds {count} images but this buffer's capacity is "
                f"{self.capacity}; use a capacity of at least {count}"
            )
        self.images = None
        if state["image_shape"] is not None:
            self._ensure_storage(tuple(state["image_shape"]))
            assert self.images is not None
            self.images[:count] = state["images"].to(device=self.device, dtype=self.dtype)
        self.count = count
        self.written = int(state["written"])
        self.seed = int(state["seed"])
        self.generator.set_state(state["generator"])
        self.sample_generator.set_state(state["sample_generator"])
