"""Several processes (torchrun, gloo on CPU): train, resume, match one process, refine.

One torchrun launch with 2 processes (the module fixture) trains a tiny run, resumes it from
a middle checkpoint and refines a file in shards; the tests compare its outputs with
single-process runs made here.

Why the comparison with one process is exact up to rounding: each rank's shard (4 images)
is exactly its share of the global batch (8), so every update of 2 ranks x 4 images sees
the same 8 images as 1 process x 8 (the losses are means; DDP averages the gradients). The
history buffer is the one part that differs: which half of a batch D sees now and which
half it stores is drawn per rank, so the runs agree exactly only up to the first D update
that draws from the buffer. The schedule (2 pretrain-R steps, then adversarial steps of
K_g = 2 R updates and 1 D update) puts checkpoint step 3 just there: 4 R updates, of them
2 through D, and D's first update. SGD keeps rounding differences from being amplified
(Adam's first steps are ~lr * sign(g)).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from simgan.cli import main
from simgan.config import load_config
from simgan.data import read_dataset, write_dataset
from simgan.errors import SimganError
from simgan.history import HistoryBuffer
from simgan.training import distributed as dist_
from simgan.training import load_banks, train
from simgan.training.batches import ImageBank, shard_range
from simgan.training.checkpoint import load_checkpoint
from simgan.training.selection import held_out_rows

pytestmark = pytest.mark.skipif(
    not torch.distributed.is_available(), reason="torch.distributed is not available"
)

SETS = [
    "perf.amp=none",
    "optim.name=sgd",
    "optim.lr_refiner=0.05",
    "optim.lr_discriminator=0.05",
    "train.batch_size=8",
    "train.pretrain_refiner_steps=2",
    "train.pretrain_discriminator_steps=0",
    "train.steps=3",  # steps 3, 4, 5 are adversarial
    "log.checkpoint_every=3",
    "log.sample_every=100",
]
MIDDLE = "step_0000003.pt"

SCRIPT = """
import os, shutil, sys
from pathlib import Path
import torch.distributed as dist
from simgan.cli import main

syn, real, out, refined, png, sets = sys.argv[1:7]
common = ["--synthetic", syn, "--real", real, "--config", "tiny", "--quiet"]
for s in sets.split(","):
    common += ["--set", s]
rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
# as `torchrun -m simgan train`: train() joins and leaves the process group itself
assert main(["train", *common, "--out", out]) == 0
run = Path(out) / "00000-tiny" / "checkpoints"
if rank == 0:
    shutil.copy(run / "last.pt", run / "straight.pt")
    shutil.copytree(Path(out) / "00000-tiny", Path(out) / "copy")
# One process runs several commands here, unlike under torchrun -m simgan: joining the group
# again through torchrun's store could read the first group's stale keys, so the next
# commands share one group joined under a fresh key prefix.
store = dist.TCPStore(os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]), world,
                      is_master=False)
dist.init_process_group("gloo", store=dist.PrefixStore("next", store), rank=rank,
                        world_size=world)
assert main(["train", *common, "--resume", str(run / "step_0000003.pt")]) == 0
assert main(["refine", "--run", str(run.parent), "--input", syn, "--out", refined,
             "--png", png, "--batch-size", "4"]) == 0
dist.destroy_process_group()
"""


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory):
    """Data, and what one 2-process torchrun launch made of it."""
    root = tmp_path_factory.mktemp("dist")
    rng = np.random.default_rng(0)
    labels = {"label": np.arange(8) % 3, "side": (np.arange(8) % 2).astype(np.int8)}
    syn = write_dataset(root / "syn.h5", rng.integers(0, 256, (8, 8, 8, 1), np.uint8), labels)
    real = write_dataset(root / "real.h5", rng.integers(0, 256, (8, 8, 8, 1), np.uint8))
    script = root / "launch.py"
    script.write_text(textwrap.dedent(SCRIPT))
    out, refined, png = root / "runs", root / "refined.h5", root / "png"
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
        str(script), str(syn), str(real), str(out), str(refined), str(png), ",".join(SETS),
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return {"root": root, "syn": syn, "real": real, "run": out / "00000-tiny",
            "copy": out / "copy", "refined": refined, "png": png}  # fmt: skip


def _max_diff(a: dict, b: dict) -> float:
    return max((a[k].float() - b[k].float()).abs().max().item() for k in a)


def test_two_processes_match_one_process_of_the_same_global_batch(two_ranks, tmp_path):
    cfg = load_config("tiny", SETS)
    one = train(cfg, two_ranks["syn"], two_ranks["real"], tmp_path, echo=False)
    a = load_checkpoint(one / "checkpoints" / MIDDLE)
    b = load_checkpoint(two_ranks["copy"] / "checkpoints" / MIDDLE)
    assert a["world_size"] == 1 and b["world_size"] == 2
    fresh = {"refiner": {}, "discriminator": {}}
    torch.manual_seed(cfg.seed)  # the initial weights, to show that training moved them
    from simgan.models import build_discriminator, build_refiner

    fresh["refiner"] = build_refiner("tiny", 1).state_dict()
    fresh["discriminator"] = build_discriminator("tiny", 1).state_dict()
    for net in ("refiner", "discriminator"):
        assert _max_diff(a[net], fresh[net]) > 1e-3, f"{net} did not train"
        assert _max_diff(a[net], b[net]) < 1e-5, f"{net}: 2 processes differ from 1"
    # the logged metrics are averaged over the ranks: the same as one process's
    rows_a = [json.loads(x) for x in (one / "metrics.jsonl").read_text().splitlines()]
    rows_b = [json.loads(x) for x in (two_ranks["copy"] / "metrics.jsonl").read_text().splitlines()]
    for ra, rb in zip(rows_a[:3], rows_b[:3], strict=True):
        for k in ("refiner_loss", "refiner_reg", "refiner_adv", "d_loss", "history_filled"):
            if k in ra:
                assert ra[k] == pytest.approx(rb[k], abs=1e-5), (ra["step"], k)
    assert rows_b[2]["d_loss"] > 0 and rows_b[-1]["step"] == 5


def test_two_process_resume_is_exact(two_ranks):
    ckpts = two_ranks["run"] / "checkpoints"
    a, b = load_checkpoint(ckpts / "straight.pt"), load_checkpoint(ckpts / "last.pt")
    assert a["step"] == b["step"] == 5 and b["world_size"] == 2
    for net in ("refiner", "discriminator"):
        for k, v in a[net].items():
            assert torch.equal(v, b[net][k]), f"{net}.{k} differs after resume"
    # every rank's own buffer came back: rank 0's at the top level, rank 1's in per_rank
    for ha, hb in ((a["history"], b["history"]), (a["per_rank"][0]["history"],
                                                  b["per_rank"][0]["history"])):  # fmt: skip
        assert ha["count"] == hb["count"] == 6
        assert torch.equal(ha["images"], hb["images"])
    assert not torch.equal(a["history"]["images"], a["per_rank"][0]["history"]["images"])


def test_resume_with_another_number_of_processes(two_ranks, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(two_ranks["copy"], run)
    cfg = load_config("tiny", SETS)
    train(cfg, two_ranks["syn"], two_ranks["real"], resume=run / "checkpoints" / MIDDLE,
          echo=False)  # fmt: skip
    last = load_checkpoint(run / "checkpoints" / "last.pt")
    assert last["step"] == 5 and last["world_size"] == 1 and "per_rank" not in last
    # both ranks' 2 stored images were pooled into the one buffer, then 2 x 4 more stored
    assert last["history"]["count"] == 12
    assert all(torch.isfinite(v).all() for v in last["refiner"].values())
    assert "history buffers re-split" in (run / "log.txt").read_text()


def test_refine_in_shards_matches_one_process(two_ranks, tmp_path):
    out = tmp_path / "one.h5"
    assert main(["refine", "--run", str(two_ranks["run"]), "--input", str(two_ranks["syn"]),
                 "--out", str(out), "--batch-size", "4"]) == 0  # fmt: skip
    one, two, syn = (read_dataset(p) for p in (out, two_ranks["refined"], two_ranks["syn"]))
    assert np.array_equal(one.images, two.images)  # same rows, same order
    assert not np.array_equal(syn.images, two.images)
    for k in ("label", "side"):
        assert syn.labels[k].tobytes() == two.labels[k].tobytes()
    assert two.attrs["domain"] == "refined"
    assert sorted(p.name for p in two_ranks["png"].iterdir())[-1] == "0000007.png"
    assert not list(two_ranks["root"].glob(".refined.h5.part*"))  # parts cleaned up


def test_resplit_history_deals_saved_images_out():
    def saved(values: list[float], seed: int) -> dict:
        h = HistoryBuffer(8, seed=seed)
        h.mix(torch.tensor(values).view(-1, 1, 1, 1).repeat(1, 1, 2, 2))
        return h.state_dict()

    two = [saved([1, 2, 3, 4], 0), saved([5, 6, 7, 8], 1)]  # each stores its last 2 images
    one = dist_.resplit_history(two, rank=0, world_size=1, capacity=16, seed=9)
    assert one["count"] == 4
    assert one["images"][:, 0, 0, 0].tolist() == [3, 4, 7, 8]
    assert torch.equal(one["generator"], two[0]["generator"])  # rank 0 keeps its generator
    # 1 -> 3 ranks: round robin, capped at the new capacity; rank 2 gets a fresh generator
    parts = [dist_.resplit_history([one], r, 3, capacity=1, seed=9 + r) for r in range(3)]
    assert [p["count"] for p in parts] == [1, 1, 1]
    assert [p["images"][0, 0, 0, 0].item() for p in parts] == [3, 4, 7]
    h = HistoryBuffer(1, seed=0)
    h.load_state_dict(parts[2])
    assert len(h) == 1


def test_shards_are_disjoint_and_cover_the_file(tmp_path):
    for n, w in ((10, 3), (8, 2), (2, 4)):
        ranges = [shard_range(n, r, w) for r in range(w)]
        assert ranges[0][0] == 0 and ranges[-1][1] == n
        assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:], strict=False))
    images = np.arange(10 * 4, dtype=np.uint8).reshape(10, 2, 2, 1)
    path = write_dataset(tmp_path / "d.h5", images)
    bank = ImageBank.from_file(path, shard=(1, 3))
    assert bank.file_count == 10 and bank.offset == 3 and len(bank) == 3
    assert torch.equal(bank.images[:, 0], torch.from_numpy(images[3:6, :, :, 0]))


def test_global_batch_must_split_evenly(tmp_path):
    path = write_dataset(tmp_path / "d.h5", np.zeros((12, 8, 8, 1), np.uint8))
    cfg = load_config("tiny", ["train.batch_size=8"])
    with pytest.raises(SimganError, match="multiple of 3"):
        load_banks(cfg, path, path, dist_.DistEnv(rank=0, world_size=3))
    syn, real = load_banks(cfg, path, path, dist_.DistEnv(rank=1, world_size=2))
    assert len(syn) == len(real) == 6 and syn.file_count == 12


SELECT_SCRIPT = """
import sys
from simgan.cli import main

syn, real, out, sets = sys.argv[1:5]
args = ["train", "--synthetic", syn, "--real", real, "--config", "tiny", "--quiet", "--out", out]
for s in sets.split(","):
    args += ["--set", s]
assert main(args) == 0
"""


def test_checkpoint_selection_under_two_processes(tmp_path):
    """Rank 0 scores, every rank learns whether it was the best (no rank waits forever),
    and the held-out rows are left out of both shards."""
    rng = np.random.default_rng(1)
    syn = write_dataset(tmp_path / "syn.h5", rng.integers(0, 256, (16, 8, 8, 1), np.uint8))
    real = write_dataset(tmp_path / "real.h5", rng.integers(0, 256, (16, 8, 8, 1), np.uint8))
    script = tmp_path / "launch_select.py"
    script.write_text(textwrap.dedent(SELECT_SCRIPT))
    sets = [*SETS, "select.every=1", "select.held_out=4", "select.count=8"]
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
        str(script), str(syn), str(real), str(tmp_path / "runs"), ",".join(sets),
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    run = tmp_path / "runs" / "00000-tiny"
    scores = [r["step"] for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines())
              if "select_kid" in r]  # fmt: skip
    assert scores == [3, 4, 5]
    best = json.loads((run / "checkpoints" / "best.json").read_text())
    assert best["step"] in scores
    assert load_checkpoint(run / "checkpoints" / "best.pt")["step"] == best["step"]
    # what each rank trains on: its shard less the held-out rows
    cfg = load_config("tiny", sets)
    held = set(held_out_rows(16, cfg.select, cfg.seed).tolist())
    file_rows = {read_dataset(real).images[i].tobytes(): i for i in range(16)}
    seen = []
    for rank in (0, 1):
        _, bank = load_banks(cfg, syn, real, dist_.DistEnv(rank=rank, world_size=2))
        seen += [file_rows[img.permute(1, 2, 0).numpy().tobytes()] for img in bank.images]
    assert sorted(seen) == sorted(set(range(16)) - held)
