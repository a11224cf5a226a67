"""Training-step throughput: simgan's own trainer functions vs the naive baseline port.

A step is one adversarial step of Algorithm 1: K_g refiner updates, then K_d discriminator
updates, each on a fresh batch of b images, batch sampling included.

images/s = b * (K_g + 2 K_d) / step seconds: every image that enters a network as a training
input (b synthetic per refiner update; b synthetic + b real per discriminator update), the
same count the trainer logs as `images_per_s`. synthetic_images_per_s = b * (K_g + K_d) /
step seconds counts only synthetic images refined.

The two implementations run in the same process, interleaved repeat by repeat (the order
alternating), so load from other processes hits both alike.
"""

from __future__ import annotations

import numpy as np
import torch

from simgan.config import Config, load_config
from simgan.errors import SimganError
from simgan.images import nhwc_to_nchw
from simgan.models import build_discriminator, build_refiner
from simgan.speed.baseline import NaiveSimGAN
from simgan.speed.flops import adversarial_step_flops, conv_flops_per_image
from simgan.speed.timing import Timings
from simgan.training import ImageBank, adversarial_step, build_state

SIZE = (35, 55)  # the eye preset's image size
CHANNELS = 1


def eyes_config(batch_size: int, device: torch.device, overrides: tuple[str, ...] = ()) -> Config:
    """The eye preset at this batch size; overrides are --set style (e.g. "perf.amp=off")."""
    return load_config("eyes", [f"train.batch_size={batch_size}", f"device={device}", *overrides])


class SimganStep:
    """One adversarial step through simgan's own trainer functions, as train() runs them.

    Calls the trainer's own `adversarial_step`, with the banks placed with ImageBank.to,
    batches drawn with ImageBank.sample in the state's memory format, metrics left on the
    device (sync=False) and read back once per step as the CPU loop does.
    """

    def __init__(
        self, cfg: Config, synthetic_u8: np.ndarray, real_u8: np.ndarray, device: torch.device
    ) -> None:
        self.cfg, self.device = cfg, device
        perf = cfg.perf
        self.state = build_state(cfg, CHANNELS, device)
        self.synthetic, self.real = (
            ImageBank(nhwc_to_nchw(x), name).to(
                device, on_device=perf.data_on_device, pin_memory=perf.pin_memory
            )
            for x, name in ((synthetic_u8, "synthetic"), (real_u8, "real"))
        )

    def settings(self) -> dict:
        """The speed settings the trainer applied (cfg.perf as resolved on this device)."""
        amp = self.state.amp_dtype
        return {
            "amp": str(amp).replace("torch.", "") if amp is not None else "off",
            "channels_last": bool(self.state.channels_last),
            "compile": bool(self.cfg.perf.compile),
        }

    def draw(self, bank: ImageBank) -> torch.Tensor:
        s = self.state
        return bank.sample(
            self.cfg.train.batch_size, s.data_generator, self.device, s.channels_last
        )

    def __call__(self) -> None:
        m = adversarial_step(
            self.state,
            self.cfg,
            lambda: self.draw(self.synthetic),
            lambda: self.draw(self.real),
            sync=False,
        )
        torch.stack([torch.as_tensor(v).float().reshape(()) for v in m.values()]).tolist()


def _param_shapes(module: torch.nn.Module) -> list[tuple[int, ...]]:
    return [tuple(p.shape) for p in module.parameters()]


def model_flops(device: torch.device) -> dict[str, int]:
    """Forward FLOPs per 35x55 image of the eye refiner and discriminator."""
    r = build_refiner("eyes", CHANNELS).to(device)
    d = build_discriminator("eyes", CHANNELS).to(device)
    return {
        "refiner_forward_per_image": conv_flops_per_image(r, CHANNELS, *SIZE),
        "discriminator_forward_per_image": conv_flops_per_image(d, CHANNELS, *SIZE),
    }


def bench_train_step(
    batch_size: int,
    device: torch.device,
    repeats: int,
    matmul: dict,
    flops: dict[str, int],
    seed: int = 0,
    overrides: tuple[str, ...] = (),
) -> dict:
    """Median step time of simgan and the baseline at one batch size, with the ratios.

    matmul: matmul_flop_rate's result (flop_per_s, and flop_per_cpu_s on CPU).
    overrides: config overrides for simgan's side (e.g. "perf.amp=off"), for ablations.
    """
    cfg = eyes_config(batch_size, device, overrides)
    t = cfg.train
    rng = np.random.default_rng(seed)
    n = max(1024, 4 * batch_size)  # enough rows that batches are drawn without repeats
    synthetic = rng.integers(0, 256, (n, *SIZE, CHANNELS), dtype=np.uint8)
    real = rng.integers(0, 256, (n, *SIZE, CHANNELS), dtype=np.uint8)

    ours = SimganStep(cfg, synthetic, real, device)
    base = NaiveSimGAN(
        synthetic,
        real,
        batch_size,
        k_g=t.k_g,
        k_d=t.k_d,
        lambda_reg=cfg.loss.lambda_reg,
        lr=cfg.optim.lr_refiner,
        history_capacity=t.history_capacity,
        device=device,
        seed=seed,
    )
    same = _param_shapes(ours.state.refiner) == _param_shapes(base.R) and _param_shapes(
        ours.state.discriminator
    ) == _param_shapes(base.D)
    if not same:
        raise SimganError("benchmark baseline no longer matches the eye preset's architecture")

    # warm-up: allocator, thread pools, and one step to put images in both history buffers
    ours()
    base.step()
    timings = {"simgan": Timings(), "baseline": Timings()}
    for r in range(repeats):
        order = (("simgan", ours), ("baseline", base.step))
        for name, fn in order if r % 2 == 0 else order[::-1]:
            timings[name].add(fn, device)

    images = batch_size * (t.k_g + 2 * t.k_d)
    step_flops = adversarial_step_flops(
        flops["refiner_forward_per_image"],
        flops["discriminator_forward_per_image"],
        batch_size,
        t.k_g,
        t.k_d,
    )
    out = {
        "batch_size": batch_size,
        "simgan_settings": ours.settings(),
        "k_g": t.k_g,
        "k_d": t.k_d,
        "images_per_step": images,
        "model_flops_per_step": step_flops,
    }
    on_cpu = device.type == "cpu"
    for name, tm in timings.items():
        out[f"{name}_step_s"] = round(tm.wall_s, 4)
        out[f"{name}_step_s_all"] = [round(x, 4) for x in tm.wall]
        out[f"{name}_images_per_s"] = round(images / tm.wall_s, 2)
        out[f"{name}_flop_per_s"] = step_flops / tm.wall_s
        out[f"{name}_share_of_matmul"] = round(step_flops / tm.wall_s / matmul["flop_per_s"], 4)
        if on_cpu:
            out[f"{name}_step_cpu_s"] = round(tm.cpu_s, 4)
            out[f"{name}_images_per_cpu_s"] = round(images / tm.cpu_s, 2)
            cpu_rate = step_flops / tm.cpu_s / matmul["flop_per_cpu_s"]
            out[f"{name}_share_of_matmul_cpu"] = round(cpu_rate, 4)
    if out["simgan_settings"]["amp"] == "bfloat16" and "bf16_flop_per_s" in matmul:
        # simgan multiplied in bf16: also compare with a bf16 matmul of the same machine
        rate = step_flops / timings["simgan"].wall_s / matmul["bf16_flop_per_s"]
        out["simgan_share_of_matmul_bf16"] = round(rate, 4)
    ours_t, base_t = timings["simgan"], timings["baseline"]
    out["synthetic_images_per_s"] = round(batch_size * (t.k_g + t.k_d) / ours_t.wall_s, 2)
    out["speedup_vs_baseline"] = round(base_t.wall_s / ours_t.wall_s, 4)
    pairs = zip(ours_t.wall, base_t.wall, strict=True)
    out["speedup_vs_baseline_per_repeat"] = [round(b / a, 4) for a, b in pairs]
    if on_cpu:
        out["speedup_vs_baseline_cpu"] = round(base_t.cpu_s / ours_t.cpu_s, 4)
    return out
