"""LogitStoreDataset's state (the torchdata Stateful protocol): a run stopped mid-epoch resumes with the same batches."""

import pytest
import torch
from torch.utils.data import DataLoader

from conftest import pack
from logitstore.torch import LogitStoreDataset


def dataset(store, **options):
    return LogitStoreDataset(store, 4, 32, 8, **{"seed": 5, "epoch": 1, "rank": 0, "world_size": 1, **options})


def cloned(batch):
    return {k: (v.clone() if torch.is_tensor(v) else v) for k, v in batch.items()}


def assert_same_batches(expected, got):
    assert [b["step"] for b in got] == [b["step"] for b in expected]
    for a, b in zip(expected, got):
        assert a.keys() == b.keys()
        for key, value in a.items():
            assert torch.equal(value, b[key]) if torch.is_tensor(value) else value == b[key], key


@pytest.mark.parametrize("workers", [0, 2])
def test_state_taken_mid_epoch_resumes_with_the_remaining_batches(loader_store, workers):
    # Two epochs per iteration, stopped in the first: the resumed run also crosses the epoch boundary.
    uninterrupted = [cloned(b) for b in DataLoader(dataset(loader_store, epochs=2), batch_size=None, num_workers=workers)]
    stopped = dataset(loader_store, epochs=2)
    consumed = 0
    for _ in DataLoader(stopped, batch_size=None, num_workers=workers):
        consumed += 1
        if consumed == 5:
            break
    state = stopped.state_dict(batches_consumed=consumed)
    if workers == 0:
        assert stopped.state_dict() == state   # the process that iterates knows where the loop stands
    assert (state["epoch"], state["next_step"]) == (1, 5)
    assert state["store_fingerprint"]["content"] and state["options"]["batch_size"] == 4

    resumed = dataset(loader_store, epoch=0, epochs=2)
    resumed.load_state_dict(state)
    assert (resumed.epoch, resumed.start_step) == (1, 5)
    rest = [cloned(b) for b in DataLoader(resumed, batch_size=None, num_workers=workers)]
    assert_same_batches(uninterrupted[consumed:], rest)


def test_state_at_the_end_of_an_epoch_starts_the_next(loader_store):
    finished = dataset(loader_store)
    for _ in DataLoader(finished, batch_size=None, num_workers=0):
        pass
    assert (finished.state_dict()["epoch"], finished.state_dict()["next_step"]) == (2, 0)
    finished.set_epoch(3, 2)   # set_epoch still decides where the next iteration starts
    assert (finished.state_dict()["epoch"], finished.state_dict()["next_step"]) == (3, 2)


@pytest.mark.parametrize("option, value", [("seed", 6), ("shuffle", False), ("world_size", 2)])
def test_state_with_other_options_is_refused_naming_them(loader_store, option, value):
    state = dataset(loader_store).state_dict()
    with pytest.raises(ValueError, match=option):
        dataset(loader_store, **{option: value}).load_state_dict(state)


def test_state_with_another_batch_shape_is_refused(loader_store):
    state = dataset(loader_store).state_dict()
    with pytest.raises(ValueError, match="batch_size 4 \\(saved\\) against 2"):
        LogitStoreDataset(loader_store, 2, 32, 8, seed=5, rank=0, world_size=1).load_state_dict(state)
    with pytest.raises(ValueError, match="width"):
        LogitStoreDataset(loader_store, 4, 32, 6, seed=5, rank=0, world_size=1).load_state_dict(state)


def test_state_of_another_store_is_refused_naming_the_components(loader_store, stores_dir):
    other = pack(stores_dir / "state-other", "--tokens", 12 * 4 * 64, "--seq-len", 64, "--seqs-per-block", 4,
                 "--vocab", 500, "--method", "top-k", "--top-k", 8, "--ids", "packed", "--values", "q8", "--seed", 2)
    state = dataset(other).state_dict()
    with pytest.raises(ValueError, match="corpus"):
        dataset(loader_store).load_state_dict(state)


def test_a_workers_own_state_resumes_that_workers_steps(loader_store, monkeypatch):
    # What StatefulDataLoader does with num_workers > 0: each worker saves its state and is handed it back.
    import logitstore.dataset

    worker_info = type("WorkerInfo", (), {"id": 1, "num_workers": 2})()
    monkeypatch.setattr(logitstore.dataset, "get_worker_info", lambda: worker_info)
    uninterrupted = [cloned(b) for b in dataset(loader_store)]
    spe = dataset(loader_store).steps_per_epoch
    assert [b["step"] for b in uninterrupted[:3]] == [spe + 1, spe + 3, spe + 5]   # epoch 1, worker 1 of 2
    stopped = dataset(loader_store)
    for taken, _ in enumerate(stopped, 1):
        if taken == 2:
            break
    state = stopped.state_dict()
    assert state["worker"] == {"id": 1, "num_workers": 2, "next_step": spe + 5}
    resumed = dataset(loader_store)   # as StatefulDataLoader's workers have it: made as before, then loaded
    resumed.load_state_dict(state)
    assert_same_batches(uninterrupted[2:], [cloned(b) for b in resumed])
