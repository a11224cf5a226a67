"""The training loop: a tiny end-to-end run, exact resume, bad input, NaN handling."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from simgan.cli import main
from simgan.config import load_config
from simgan.data import write_dataset
from simgan.errors import SimganError
from simgan.training import train
from simgan.training.checkpoint import load_checkpoint


def test_tiny_run_through_cli(domains, tmp_path, capsys):
    s, r = domains
    code = main(
        [
            "train",
            "--synthetic",
            str(s),
            "--real",
            str(r),
            "--out",
            str(tmp_path / "runs"),
            "--config",
            "tiny",
            "--quiet",
        ]
    )
    assert code == 0
    (run,) = (tmp_path / "runs").iterdir()
    assert run.name == "00000-tiny"
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(1, 9))
    phases = [r["phase"] for r in rows]
    assert phases == ["pretrain_refiner"] * 2 + ["pretrain_discriminator"] * 2 + ["adversarial"] * 4
    adv = rows[-1]
    for key in (
        "refiner_adv",
        "refiner_reg",
        "d_loss",
        "d_acc_real",
        "d_acc_refined",
        "images_per_s",
    ):
        assert key in adv and np.isfinite(adv[key])
    assert "d_acc_history" in adv  # the buffer is full enough by then to feed D
    assert (run / "samples" / "step_0000008.png").exists()
    assert (run / "samples" / "real.png").exists()
    assert (run / "config.yaml").exists() and (run / "log.txt").read_text()
    ckpt = load_checkpoint(run / "checkpoints" / "last.pt")  # weights_only load
    assert ckpt["step"] == 8 and ckpt["phase"] == "done"
    assert set(ckpt) >= {
        "refiner",
        "discriminator",
        "opt_refiner",
        "opt_discriminator",
        "history",
        "rng",
        "config",
        "simgan_version",
    }
    # a second run gets the next number, never overwriting the first
    main(
        [
            "train",
            "--synthetic",
            str(s),
            "--real",
            str(r),
            "--out",
            str(tmp_path / "runs"),
            "--config",
            "tiny",
            "--quiet",
            "--set",
            "train.steps=1",
        ]
    )
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["00000-tiny", "00001-tiny"]


def test_resume_is_exact(domains, tmp_path):
    s, r = domains
    cfg = load_config("tiny", ["train.steps=6", "log.checkpoint_every=100"])
    straight = train(cfg, s, r, tmp_path / "a", echo=False)
    short = load_config("tiny", ["train.steps=2", "log.checkpoint_every=100"])
    part = train(short, s, r, tmp_path / "b", echo=False)
    resumed = train(cfg, s, r, tmp_path / "b", resume=part, echo=False)
    assert resumed == part
    a = load_checkpoint(straight / "checkpoints" / "last.pt")
    b = load_checkpoint(resumed / "checkpoints" / "last.pt")
    assert a["step"] == b["step"] == cfg.total_steps
    for net in ("refiner", "discriminator"):
        for k, v in a[net].items():
            assert torch.equal(v, b[net][k]), f"{net}.{k} differs after resume"
    assert torch.equal(a["history"]["images"], b["history"]["images"])
    assert a["opt_refiner"]["state"][0]["step"] == b["opt_refiner"]["state"][0]["step"]


def test_resume_refuses_other_config(domains, tmp_path):
    s, r = domains
    run = train(load_config("tiny"), s, r, tmp_path, echo=False)
    with pytest.raises(SimganError, match="another config.*lambda_reg"):
        train(load_config("tiny", ["loss.lambda_reg=3"]), s, r, tmp_path, resume=run, echo=False)


def test_bad_inputs(domains, tmp_path):
    s, r = domains
    with pytest.raises(SimganError, match="fewer than the batch size"):
        train(load_config("tiny", ["train.batch_size=64"]), s, r, tmp_path, echo=False)
    other = write_dataset(tmp_path / "big.h5", np.zeros((40, 12, 12, 1), np.uint8))
    with pytest.raises(SimganError, match="--resize"):
        train(load_config("tiny"), other, r, tmp_path, echo=False)
    rgb = write_dataset(tmp_path / "rgb.h5", np.zeros((40, 8, 8, 3), np.uint8))
    with pytest.raises(SimganError, match="channel"):
        train(load_config("tiny"), rgb, r, tmp_path, echo=False)
    assert train(load_config("tiny", ["train.resize=true"]), other, r, tmp_path / "ok", echo=False)
    with pytest.raises(SimganError, match="unknown key"):
        load_config("tiny", ["train.kg=2"])
    assert (
        main(
            [
                "train",
                "--synthetic",
                str(tmp_path / "nope.h5"),
                "--real",
                str(r),
                "--config",
                "tiny",
            ]
        )
        == 2
    )


def test_dry_run_creates_nothing(domains, tmp_path, capsys):
    s, r = domains
    assert (
        main(
            [
                "train",
                "--synthetic",
                str(s),
                "--real",
                str(r),
                "--out",
                str(tmp_path / "runs"),
                "--config",
                "tiny",
                "--dry-run",
            ]
        )
        == 0
    )
    assert "dry run" in capsys.readouterr().out
    assert not (tmp_path / "runs").exists()


def test_nan_stops_with_last_good_checkpoint(domains, tmp_path):
    s, r = domains
    cfg = load_config(
        "tiny",
        [
            "optim.lr_refiner=1e30",
            "optim.lr_discriminator=1e30",
            "log.checkpoint_every=1",
            "train.steps=50",
        ],
    )
    with pytest.raises(SimganError, match="became (nan|inf).*last good checkpoint"):
        train(cfg, s, r, tmp_path / "runs", echo=False)
    (run,) = (tmp_path / "runs").iterdir()
    ckpt = load_checkpoint(run / "checkpoints" / "last.pt")
    assert all(torch.isfinite(v).all() for v in ckpt["refiner"].values())


def test_refine_keeps_labels_byte_identical(domains, tmp_path):
    import h5py

    s, r = domains
    run = train(load_config("tiny"), s, r, tmp_path / "runs", echo=False)
    out = tmp_path / "refined.h5"
    png = tmp_path / "png"
    assert (
        main(
            [
                "refine",
                "--run",
                str(run),
                "--input",
                str(s),
                "--out",
                str(out),
                "--png",
                str(png),
                "--batch-size",
                "7",
            ]
        )
        == 0
    )
    with h5py.File(s) as a, h5py.File(out) as b:
        assert a["label"][()].tobytes() == b["label"][()].tobytes()
        assert b["images"].shape == a["images"].shape
        assert b.attrs["domain"] == "refined"
        assert not np.array_equal(a["images"][()], b["images"][()])  # the refiner did something
    assert len(list(png.glob("*.png"))) == 40
    # exists -> refused; bad run folder -> clear error
    assert main(["refine", "--run", str(run), "--input", str(s), "--out", str(out)]) == 2
    assert (
        main(["refine", "--run", str(tmp_path), "--input", str(s), "--out", str(tmp_path / "x.h5")])
        == 2
    )
    assert not (tmp_path / "x.h5").exists()


def test_perf_settings_may_change_on_resume(domains, tmp_path):
    s, r = domains
    short = load_config("tiny", ["train.steps=2", "perf.amp=bf16"])
    run = train(short, s, r, tmp_path, echo=False)
    assert "autocast torch.bfloat16" in (run / "log.txt").read_text()
    plain = load_config("tiny", ["perf.amp=none", "perf.channels_last=false"])
    assert train(plain, s, r, tmp_path, resume=run, echo=False) == run
    ckpt = load_checkpoint(run / "checkpoints" / "last.pt")
    assert ckpt["step"] == plain.total_steps and ckpt["config"]["perf"]["amp"] == "none"
    assert all(torch.isfinite(v).all() for v in ckpt["refiner"].values())


def test_updates_without_sync_return_device_tensors():
    from simgan.training import build_state, discriminator_update, refiner_update

    cfg = load_config("tiny")
    state = build_state(cfg, 1, torch.device("cpu"))
    x = torch.rand(8, 1, 8, 8) * 2 - 1
    m = refiner_update(state, cfg, x, True, sync=False)
    assert all(isinstance(v, torch.Tensor) and v.ndim == 0 for v in m.values())
    assert set(m) == {"refiner_loss", "refiner_reg", "refiner_adv", "refined_variety"}
    d = discriminator_update(state, x, x.flip(0))
    assert all(isinstance(v, float) for v in d.values()) and "d_acc_history" not in d
    # the refiner update froze D only for its own backward pass
    assert all(p.requires_grad for p in state.discriminator.parameters())


def test_amp_choice():
    from simgan.config import PerfConfig
    from simgan.device import resolve_amp

    cpu = torch.device("cpu")
    assert resolve_amp(PerfConfig(amp="none"), cpu) is None
    assert resolve_amp(PerfConfig(amp="bf16"), cpu) is torch.bfloat16
    assert resolve_amp(PerfConfig(amp="auto"), cpu) in (None, torch.bfloat16)
    with pytest.raises(SimganError, match="perf.amp"):
        resolve_amp(PerfConfig(amp="fp8"), cpu)


def test_sampling_is_the_same_in_every_layout(domains):
    from simgan.training import ImageBank

    s, _ = domains
    bank = ImageBank.from_file(s)
    a = bank.sample(8, torch.Generator().manual_seed(3))
    b = bank.sample(8, torch.Generator().manual_seed(3), "cpu", channels_last=True)
    assert torch.equal(a, b) and b.is_contiguous(memory_format=torch.channels_last)
    assert a.dtype == torch.float32 and a.min() >= -1 and a.max() <= 1


def test_refine_with_an_exported_model(domains, tmp_path):
    pytest.importorskip("onnxruntime")
    from simgan.data import read_dataset
    from simgan.export import export_run

    s, r = domains
    run = train(load_config("tiny"), s, r, tmp_path / "runs", echo=False)
    model, _ = export_run(run, tmp_path / "refiner.onnx")
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    assert main(["refine", "--run", str(run), "--input", str(s), "--out", str(a)]) == 0
    assert main(["refine", "--model", str(model), "--input", str(s), "--out", str(b)]) == 0
    ra, rb = read_dataset(a), read_dataset(b)
    assert np.abs(ra.images.astype(int) - rb.images.astype(int)).max() <= 1  # rounding only
    assert ra.labels["label"].tobytes() == rb.labels["label"].tobytes()
    with pytest.raises(SystemExit):  # one source only: argparse refuses both
        main(["refine", "--run", str(run), "--model", str(model), "--input", str(s),
              "--out", str(tmp_path / "c.h5")])  # fmt: skip


@pytest.mark.slow
def test_compiled_training_runs(domains, tmp_path):
    s, r = domains
    run = train(load_config("tiny", ["perf.compile=true"]), s, r, tmp_path, echo=False)
    ckpt = load_checkpoint(run / "checkpoints" / "last.pt")
    assert not any(k.startswith("_orig_mod") for k in ckpt["refiner"])  # plain state dicts
    assert all(torch.isfinite(v).all() for v in ckpt["refiner"].values())


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_gpu_training_keeps_data_on_device(domains, tmp_path):
    from simgan.training import ImageBank

    s, r = domains
    bank = ImageBank.from_file(s)
    on_gpu = bank.to(torch.device("cuda"))
    assert on_gpu.images.is_cuda
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    assert torch.equal(bank.sample(8, g1), on_gpu.sample(8, g2, "cuda").cpu())
    pinned = bank.to(torch.device("cuda"), on_device=False)
    assert pinned.images.is_pinned()
    cfg = load_config("tiny", ["device=cuda", "perf.amp=bf16"])
    run = train(cfg, s, r, tmp_path, echo=False)
    ckpt = load_checkpoint(run / "checkpoints" / "last.pt")
    assert all(torch.isfinite(v).all() for v in ckpt["refiner"].values())


def test_sample_grids_show_the_history_buffer(domains, tmp_path):
    """Sample steps draw the FIXED batch and, once the buffer holds images, the buffer itself;
    drawing from the buffer does not change what training draws."""
    s, r = domains
    cfg = load_config("tiny", ["log.sample_every=1"])
    run = train(cfg, s, r, tmp_path / "runs", echo=False)
    samples = {p.name for p in (run / "samples").iterdir()}
    assert "real.png" in samples
    assert {f"step_{k:07d}.png" for k in range(1, 9)} <= samples
    # the buffer fills at the first D update (step 3): history grids from then on
    assert {p for p in samples if p.startswith("history_")} == {
        f"history_step_{k:07d}.png" for k in range(3, 9)
    }
    quiet = train(load_config("tiny", ["log.sample_every=100"]), s, r, tmp_path / "b", echo=False)
    a = load_checkpoint(run / "checkpoints" / "last.pt")["refiner"]
    b = load_checkpoint(quiet / "checkpoints" / "last.pt")["refiner"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_run_of_zero_steps_writes_the_checkpoint_it_names(domains, tmp_path, capsys):
    """Every step count 0: nothing is trained, and the run folder is still complete (the
    untrained refiner in last.pt), so the 'done' line names a file that exists."""
    s, r = domains
    zero = ["train.pretrain_refiner_steps=0", "train.pretrain_discriminator_steps=0"]
    run = train(load_config("tiny", [*zero, "train.steps=0"]), s, r, tmp_path / "runs")
    assert "done: 0 steps (every step count is 0), untrained refiner in" in capsys.readouterr().out
    ckpt = load_checkpoint(run / "checkpoints" / "last.pt")
    assert ckpt["step"] == 0 and ckpt["phase"] == "done"
    from simgan.refine import load_refiner

    assert load_refiner(run)[0] is not None
    # and it resumes like any run, here into a real one
    cfg = load_config("tiny", [*zero, "train.steps=2"])
    assert train(cfg, s, r, resume=run, echo=False) == run
    assert load_checkpoint(run / "checkpoints" / "last.pt")["step"] == 2


def test_batches_are_uniform_distinct_and_drawn_in_few_tries(monkeypatch):
    """128 of 898 rows (the demo's real digits): every batch distinct, every row equally
    likely, the same generator state giving the same batch, and only the repeated positions
    redrawn (redrawing whole batches took ~8,000 tries per batch here)."""
    from simgan.training import ImageBank

    bank = ImageBank(torch.zeros(898, 1, 8, 8, dtype=torch.uint8))
    calls = []
    randint = torch.randint
    monkeypatch.setattr(torch, "randint", lambda *a, **k: calls.append(1) or randint(*a, **k))
    g = torch.Generator().manual_seed(0)
    counts = torch.zeros(898)
    for _ in range(500):
        idx = bank.indices(128, g)
        assert idx.unique().numel() == 128
        counts[idx] += 1
    assert len(calls) < 500 * 10
    expected = 500 * 128 / 898  # 71.3 per row; binomial std 7.8
    assert abs(counts.mean() - expected) < 1e-6 and counts.min() > 35 and counts.max() < 110
    a = bank.indices(128, torch.Generator().manual_seed(5))
    b = bank.indices(128, torch.Generator().manual_seed(5))
    assert torch.equal(a, b)
