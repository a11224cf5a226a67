"""The paper's history buffer: exact composition, filling, replacement, randomness, resume.

Every test image is a constant plane holding a unique id, so rows can be traced back.
"""

from __future__ import annotations

import pytest
import torch

from simgan.errors import SimganError
from simgan.history import HistoryBuffer

SHAPE = (1, 3, 4)  # (C, H, W)


def batch(first_id: int, b: int) -> torch.Tensor:
    """(b, C, H, W) images with ids first_id .. first_id + b - 1."""
    ids = torch.arange(first_id, first_id + b, dtype=torch.float32)
    return ids.view(b, 1, 1, 1).expand(b, *SHAPE).clone()


def ids_of(images: torch.Tensor) -> list[int]:
    return [int(v) for v in images[:, 0, 0, 0]]


def stored_ids(buf: HistoryBuffer) -> list[int]:
    return ids_of(buf.images[: len(buf)])


def test_filling_then_half_and_half():
    buf = HistoryBuffer(capacity=10, seed=0)
    assert len(buf) == 0 and buf.images is None  # lazy
    out = buf.mix(batch(0, 4))
    # fewer than b/2 stored: all current images, the unseen half (ids 2, 3) stored
    assert ids_of(out) == [0, 1, 2, 3] and buf.last_history_rows == 0
    assert stored_ids(buf) == [2, 3] and buf.images.shape == (10, *SHAPE)
    out = buf.mix(batch(100, 4))
    assert ids_of(out)[:2] == [100, 101]
    assert sorted(ids_of(out)[2:]) == [2, 3]  # history rows come from earlier calls
    assert buf.last_history_rows == 2
    assert stored_ids(buf) == [2, 3, 102, 103]  # appended while filling


@pytest.mark.parametrize("b", [2, 5, 8])
def test_composition_counts_and_replacement(b):
    capacity, k = 12, b // 2
    buf = HistoryBuffer(capacity=capacity, seed=3)
    for step in range(30):
        first = 1000 * (step + 1)
        before = stored_ids(buf) if buf.images is not None else []
        out = buf.mix(batch(first, b))
        got = ids_of(out)
        assert out.shape == (b, *SHAPE)
        n_hist = k if len(before) >= k else 0
        assert got[: b - n_hist] == list(range(first, first + b - n_hist))  # current rows
        hist = got[b - n_hist :]
        assert len(set(hist)) == len(hist)  # without replacement
        assert set(hist) <= set(before)  # from previously stored images only
        after = stored_ids(buf)
        new = list(range(first + b - k, first + b))  # the rows D did not see now
        if len(before) + k <= capacity:
            assert after == before + new  # filling: append
        else:
            assert len(after) == capacity
            changed = [i for i in range(capacity) if after[i] != before[i]]
            assert len(changed) == k  # exactly b/2 slots overwritten
            assert sorted(after[i] for i in changed) == new
    assert len(buf) == capacity
    assert buf.stats() == {"filled": capacity, "capacity": capacity, "written": 30 * k}


def test_last_append_overflows_into_random_slots():
    buf = HistoryBuffer(capacity=5, seed=0)
    buf.mix(batch(0, 4))
    buf.mix(batch(10, 4))
    assert stored_ids(buf) == [2, 3, 12, 13]
    buf.mix(batch(20, 4))  # one slot left: 22 is appended, 23 overwrites an older image
    after = stored_ids(buf)
    assert len(buf) == 5 and after[4] == 22 and 23 in after[:4]
    assert len(set(after[:4]) & {2, 3, 12, 13}) == 3  # exactly one old image replaced


def test_odd_and_single_image_batches():
    buf = HistoryBuffer(capacity=4, seed=0)
    out = buf.mix(batch(0, 1))
    assert ids_of(out) == [0] and stored_ids(buf) == [0]  # b = 1: shown and stored
    buf.mix(batch(10, 3))  # k = 1: one history row available
    assert buf.last_history_rows == 1 and len(buf) == 2


def test_buffer_changes_after_it_is_full_and_draws_are_random():
    buf = HistoryBuffer(capacity=20, seed=1)
    for step in range(10):
        buf.mix(batch(100 * step, 4))
    assert len(buf) == 20
    full = stored_ids(buf)
    drawn_slots: list[int] = []
    for step in range(10, 40):
        before = stored_ids(buf)
        out = buf.mix(batch(100 * step, 4))
        drawn_slots += [before.index(i) for i in ids_of(out)[2:]]
    assert stored_ids(buf) != full  # later calls change the contents
    # Random slots, not always the oldest half: draws spread over most of the buffer.
    assert len(set(drawn_slots)) >= 15
    assert max(drawn_slots) >= 10 and min(drawn_slots) < 10


def test_user_errors():
    with pytest.raises(SimganError, match="at least 5"):
        HistoryBuffer(capacity=4).mix(batch(0, 10))
    with pytest.raises(SimganError, match="capacity"):
        HistoryBuffer(capacity=0)
    buf = HistoryBuffer(capacity=8)
    with pytest.raises(SimganError, match="empty"):
        buf.sample(2)
    buf.mix(batch(0, 4))
    with pytest.raises(SimganError, match="shape"):
        buf.mix(torch.zeros(4, 1, 5, 5))
    with pytest.raises(SimganError, match=r"\(b, C, H, W\)"):
        buf.mix(torch.zeros(4, 5, 5))


def test_dtype_device_and_detach():
    buf = HistoryBuffer(capacity=8, dtype=torch.float16)
    x = batch(0, 4).double().requires_grad_(True)
    out = buf.mix(x)
    assert buf.images.dtype == torch.float16 and buf.images.device.type == "cpu"
    assert out.dtype == torch.float64 and not out.requires_grad
    out = buf.mix(batch(10, 4).double())
    assert out.dtype == torch.float64 and sorted(ids_of(out)[2:]) == [2, 3]


def test_sample_is_separate_from_mix():
    a, b = HistoryBuffer(16, seed=5), HistoryBuffer(16, seed=5)
    for step in range(6):
        x = batch(10 * step, 4)
        assert torch.equal(a.mix(x), b.mix(x))
        s = a.sample(3)  # only `a` samples: b's mix draws must not change
        assert s.shape == (min(3, len(a)), *SHAPE) and set(ids_of(s)) <= set(stored_ids(a))
        assert len(set(ids_of(s))) == len(s)
    assert a.sample(100).shape[0] == len(a)  # capped at what is stored
    draws = {tuple(ids_of(a.sample(2))) for _ in range(20)}
    assert len(draws) > 1


def test_state_dict_round_trip_gives_identical_future_draws(tmp_path):
    buf = HistoryBuffer(capacity=10, seed=7)
    for step in range(8):
        buf.mix(batch(10 * step, 4))
    buf.sample(2)
    path = tmp_path / "history.pt"
    torch.save({"history": buf.state_dict()}, path)
    state = torch.load(path, weights_only=True)["history"]
    restored = HistoryBuffer(capacity=10, seed=999)  # seed comes from the state
    restored.load_state_dict(state)
    assert len(restored) == len(buf) and restored.stats() == buf.stats()
    for step in range(8, 16):
        x = batch(10 * step, 4)
        assert torch.equal(buf.mix(x), restored.mix(x))
    assert torch.equal(buf.sample(3), restored.sample(3))
    assert torch.equal(buf.images, restored.images)


def test_state_dict_of_unused_buffer_and_capacity_check(tmp_path):
    empty = HistoryBuffer(capacity=4)
    path = tmp_path / "empty.pt"
    torch.save(empty.state_dict(), path)
    fresh = HistoryBuffer(capacity=4)
    fresh.load_state_dict(torch.load(path, weights_only=True))
    assert len(fresh) == 0 and fresh.images is None
    full = HistoryBuffer(capacity=8)
    full.mix(batch(0, 8))
    full.mix(batch(10, 8))
    with pytest.raises(SimganError, match="capacity"):
        HistoryBuffer(capacity=4).load_state_dict(full.state_dict())
