"""CPU threads chosen for the machine as it is: the free cores, one thread where a step
gains too little from more (measured), the explicit setting first; printed at the start."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from simgan import threads
from simgan.config import load_config
from simgan.data import write_dataset
from simgan.data.eyes import simulator
from simgan.errors import SimganError
from simgan.speed import timing
from simgan.training import train


@pytest.fixture
def machine(monkeypatch):
    """machine(cpus, load): a fake machine with `cpus` CPUs at a 1-minute load of `load`
    (and no OMP_NUM_THREADS, so auto decides)."""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)

    def fake(cpus: int, load: float) -> None:
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cpus)), raising=False)
        monkeypatch.setattr(os, "getloadavg", lambda: (load, load, load))

    return fake


def _never() -> float:
    raise AssertionError("no step should be timed here")


def _fake_step(seconds: dict[int, float]):
    """A time_step whose result depends on the torch thread count it runs at."""
    return lambda: seconds[torch.get_num_threads()]


def test_a_busy_core_is_not_counted(machine):
    machine(2, 1.0)
    assert threads.free_cores()[0] == 1
    choice = threads.choose_threads(0, _never)  # one free core: nothing to measure
    assert choice.threads == 1
    assert "2 CPUs available, 1-minute load 1.0" in choice.why
    machine(8, 2.6)
    assert threads.free_cores()[0] == 5
    assert threads.free_cores(share=2)[0] == 2  # two processes of one job split them
    machine(2, 7.0)  # oversubscribed: still one thread
    assert threads.free_cores()[0] == 1


def test_the_explicit_setting_wins(machine, monkeypatch):
    machine(2, 1.0)
    choice = threads.choose_threads(3, _never)
    assert choice.threads == 3 and choice.why == "perf.threads=3, as set"
    default = threads.choose_threads(-1, _never)
    assert default.threads == threads._TORCH_DEFAULT_THREADS
    assert "PyTorch's own default" in default.why
    monkeypatch.setenv("OMP_NUM_THREADS", "2")  # the environment's setting is explicit too
    assert threads.choose_threads(0, _never).threads == 2
    assert threads.choose_threads(1, _never).threads == 1  # but perf.threads comes first
    with pytest.raises(SimganError):
        threads.choose_threads(-2)


def test_more_threads_only_where_measured_faster(machine):
    machine(2, 0.0)
    old = torch.get_num_threads()
    small = threads.choose_threads(0, _fake_step({1: 0.010, 2: 0.008}))
    assert small.threads == 1 and "too little gain" in small.why
    assert "10.0 ms at 1 thread, 8.0 ms at 2 (measured now)" in small.why
    slow = threads.choose_threads(0, _fake_step({1: 0.010, 2: 0.900}))  # a busy core
    assert slow.threads == 1
    big = threads.choose_threads(0, _fake_step({1: 2.0, 2: 1.1}))
    assert big.threads == 2 and dict(big.timings) == {1: 2.0, 2: 1.1}
    assert torch.get_num_threads() == old  # timing restores the caller's count
    assert threads.choose_threads(0).threads == 2  # nothing to time (a GPU): the free cores


def test_bench_speed_threads_unchanged(machine):
    machine(2, 1.0)
    assert timing.auto_threads() == (1, "2 CPUs available, 1-minute load 1.0")
    assert timing.available_cpus() == 2


def test_workers_are_the_free_cores(machine, monkeypatch, tmp_path):
    machine(3, 1.0)
    assert threads.worker_count() == (2, "auto: 3 CPUs available, 1-minute load 1.0")
    assert threads.worker_count(5)[0] == 5
    seen = []

    class Pool(simulator.ThreadPoolExecutor):
        def __init__(self, workers):
            seen.append(workers)
            super().__init__(workers)

    monkeypatch.setattr(simulator, "ThreadPoolExecutor", Pool)
    simulator.write_synthetic_eyes(tmp_path / "eyes.h5", 4, chunk=2, size=(12, 20))
    assert seen == [2]


def test_onnxruntime_threads_are_the_free_cores(machine, tmp_path):
    pytest.importorskip("onnxruntime")
    from simgan.export import export_refiner
    from simgan.models import build_refiner
    from simgan.refine.loading import OnnxRefiner

    path, _ = export_refiner(build_refiner("tiny", 1), tmp_path / "r.onnx", channels=1)
    machine(3, 1.0)
    options = OnnxRefiner(path).session.get_session_options()
    assert options.intra_op_num_threads == 2
    assert OnnxRefiner(path, threads=1).session.get_session_options().intra_op_num_threads == 1


def test_config_rejects_negative_threads_below_minus_one():
    assert load_config("tiny", ["perf.threads=-1"]).perf.threads == -1
    with pytest.raises(SimganError, match="perf.threads"):
        load_config("tiny", ["perf.threads=-2"])


@pytest.fixture
def domains(tmp_path):
    rng = np.random.default_rng(0)
    syn = rng.integers(0, 256, (40, 8, 8, 1), dtype=np.uint8)
    s = write_dataset(tmp_path / "syn.h5", syn)
    r = write_dataset(tmp_path / "real.h5", syn[:30] // 2 + 60)
    return s, r


def test_training_prints_and_logs_its_threads(machine, domains, tmp_path, capsys):
    s, r = domains
    machine(2, 1.0)
    run = train(load_config("tiny"), s, r, tmp_path / "runs")
    line = "CPU threads: 1 torch thread (auto: 2 CPUs available, 1-minute load 1.0, so 1 free core)"
    assert line in capsys.readouterr().out
    assert line in (run / "log.txt").read_text()
    assert torch.get_num_threads() == 1
    run = train(load_config("tiny", ["perf.threads=2"]), s, r, tmp_path / "runs", echo=False)
    assert "CPU threads: 2 torch threads (perf.threads=2, as set)" in (run / "log.txt").read_text()
    assert torch.get_num_threads() == 2
