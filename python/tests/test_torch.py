"""The PyTorch dataset: worker and rank split, determinism by seed and epoch, resume, and the KD loss."""

import collections

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

import logitstore
from logitstore.torch import LogitStoreDataset, kd_loss


def rows(batches):
    """Each batch's rows as (sequence, offset), read as it arrives: the ring reuses a batch's tensors later."""
    return [(int(s), int(o)) for b in batches for s, o in zip(b["row_sequence"].tolist(), b["row_offset"].tolist())]


def steps_and_rows(batches):
    steps, seen = [], []
    for b in batches:
        steps.append(b["step"])
        seen.extend(rows([b]))
    return steps, seen


@pytest.mark.parametrize("world_size", [1, 2, 3])
def test_two_workers_cover_every_row_once_per_epoch(loader_store, world_size):
    seen = collections.Counter()
    for rank in range(world_size):
        dataset = LogitStoreDataset(loader_store, 4, 32, 8, seed=7, epoch=1, rank=rank, world_size=world_size)
        steps, got = steps_and_rows(DataLoader(dataset, batch_size=None, num_workers=2))
        assert steps == list(range(dataset.steps_per_epoch, 2 * dataset.steps_per_epoch))
        seen.update(got)
    # 48 sequences of 64 positions, rows of 32: every (sequence, offset) exactly once over the ranks.
    assert seen == collections.Counter({(s, o): 1 for s in range(48) for o in (0, 32)})


def test_order_depends_on_seed_and_epoch_only(loader_store):
    def epoch_rows(seed, epoch, workers):
        dataset = LogitStoreDataset(loader_store, 4, 32, 8, seed=seed, epoch=epoch, rank=0, world_size=1)
        return rows(DataLoader(dataset, batch_size=None, num_workers=workers))

    first = epoch_rows(1, 0, 0)
    assert epoch_rows(1, 0, 2) == first
    assert epoch_rows(1, 1, 0) != first
    assert epoch_rows(2, 0, 0) != first


def test_resume_from_step_equals_tail_of_uninterrupted_epoch(loader_store):
    def epoch(start_step, workers):
        dataset = LogitStoreDataset(loader_store, 4, 32, 8, seed=9, epoch=2, start_step=start_step, rank=0, world_size=1)
        return [{k: (v.clone() if torch.is_tensor(v) else v) for k, v in b.items()}
                for b in DataLoader(dataset, batch_size=None, num_workers=workers)]

    full = epoch(0, 0)
    resumed = epoch(5, 2)
    assert len(resumed) == len(full) - 5
    for a, b in zip(full[5:], resumed):
        assert a["step"] == b["step"]
        for key in ("tokens", "ids", "probs", "kept_counts", "residual", "row_sequence", "row_offset"):
            assert torch.equal(a[key], b[key]), key


def test_rank_from_environment(loader_store, monkeypatch):
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "3")
    dataset = LogitStoreDataset(loader_store, 4, 32, 8)
    assert (dataset.rank, dataset.world_size) == (1, 3)
    assert len(dataset) == 8


def test_tensors_share_the_decode_buffers(loader_store):
    dataset = LogitStoreDataset(loader_store, 4, 32, 8, rank=0, world_size=1, ring_size=2)
    it = iter(dataset)
    a, b, c = next(it), next(it), next(it)
    assert a["ids"].data_ptr() == c["ids"].data_ptr() != b["ids"].data_ptr()


def test_worker_batches_arrive_as_views_of_the_workers_ring_slots(loader_store):
    """Through a worker process, batch i and batch i + ring_size are the same mapped slot: nothing copied per batch."""
    dataset = LogitStoreDataset(loader_store, 4, 32, 8, rank=0, world_size=1, ring_size=3, epochs=2)
    pointers, tokens = [], []
    for batch in DataLoader(dataset, batch_size=None, num_workers=1, prefetch_factor=1):
        pointers.append(batch["ids"].data_ptr())
        tokens.append(batch["tokens"].clone())
        if len(pointers) == 9:
            break
    assert pointers[:3] == pointers[3:6] == pointers[6:9] and len(set(pointers[:3])) == 3
    in_process = LogitStoreDataset(loader_store, 4, 32, 8, rank=0, world_size=1, ring_size=3, epochs=2)
    for expected, batch in zip(tokens, in_process):
        assert torch.equal(expected, batch["tokens"])


def clones(batches):
    return [{k: (v.clone() if torch.is_tensor(v) else v) for k, v in b.items()} for b in batches]


def assert_same_batches(expected, got):
    assert [b["step"] for b in expected] == [b["step"] for b in got]
    for a, b in zip(expected, got):
        for key in ("tokens", "ids", "probs", "kept_counts", "residual", "row_sequence", "row_offset"):
            assert torch.equal(a[key], b[key]), key


def test_a_persistent_workers_next_epoch_leaves_the_last_batch_alone(loader_store):
    # 24 steps per epoch and a ring of 23: epoch 0's last batch sits in the slot epoch 1 would start in, were the
    # ring's position not carried over.
    dataset = LogitStoreDataset(loader_store, 4, 32, 8, rank=0, world_size=1, ring_size=23, seed=2)
    loader = DataLoader(dataset, batch_size=None, num_workers=1, persistent_workers=True, prefetch_factor=2)
    *_, last = iter(loader)
    kept = {k: v.clone() for k, v in last.items() if torch.is_tensor(v)}
    dataset.set_epoch(1)
    it = iter(loader)
    next(it), next(it)
    for key, value in kept.items():
        assert torch.equal(last[key], value), key


@pytest.mark.parametrize("options", [
    dict(collate_fn=lambda b: dict(b, ids_sum=b["ids"].sum())),   # code in the worker reads and rebuilds the dict
    dict(pin_memory=True),
    dict(multiprocessing_context="spawn"),
], ids=["collate_fn", "pin_memory", "spawn"])
def test_worker_batches_equal_in_process_batches(loader_store, options):
    def dataset(threads=1):
        return LogitStoreDataset(loader_store, 4, 32, 8, rank=0, world_size=1, seed=4, threads=threads)

    expected = clones(dataset())
    assert_same_batches(expected, clones(DataLoader(dataset(), batch_size=None, num_workers=2, **options)))
    assert_same_batches(expected, clones(DataLoader(dataset(threads=2), batch_size=None, num_workers=1)))


def dense_forward_kl(logits, ids, probs, kept_counts, residual, temperature):
    """KL(p || q) built densely over the vocabulary: the reference the closed form must equal."""
    b, t, v = logits.shape
    loss = torch.zeros(())
    for i in range(b):
        for j in range(t):
            n = int(kept_counts[i, j])
            p = torch.full((v,), float(residual[i, j]) / (v - n), dtype=torch.float64)
            p[ids[i, j, :n].long()] = (1 - float(residual[i, j])) * probs[i, j, :n].double()
            if temperature != 1.0:
                p = p ** (1 / temperature)
                p = p / p.sum()
            log_q = torch.log_softmax(logits[i, j].double() / temperature, -1)
            loss = loss + (p * (p.clamp_min(1e-300).log() - log_q)).sum()
    return loss / (b * t) * temperature ** 2


@pytest.mark.parametrize("temperature", [1.0, 2.0])
def test_kd_loss_equals_dense_definition(loader_store, temperature):
    with logitstore.Store(loader_store) as store:
        batch = next(store.batches(2, 16, 8, seed=4))
        torch.manual_seed(0)
        logits = torch.randn(2, 16, store.vocab_size) * 3
        args = [torch.from_numpy(a) for a in (batch.ids, batch.probs, batch.kept_counts, batch.residual)]
        got = kd_loss(logits, *args, temperature=temperature)
        want = dense_forward_kl(logits, *args, temperature)
    assert abs(float(got) - float(want)) < 1e-4 * max(1.0, abs(float(want)))


def test_kd_loss_equals_csharp_kd_loss_on_the_same_batch(loader_store):
    """
    data/kd_loss_reference.json holds the C# KdLoss (ForwardKl) of step 0 of a loader over this same store (packed
    from the same seeds, so byte for byte the same), written by tools/kd-loss-reference.
    """
    import json
    from pathlib import Path

    reference = json.loads((Path(__file__).parent / "data/kd_loss_reference.json").read_text())
    with logitstore.Store(loader_store) as store:
        batch = next(store.batches(2, 16, 8, seed=4))
        v = store.vocab_size
        assert batch.ids.ravel().tolist() == reference["ids"]
        assert np.array_equal(batch.probs.ravel(), np.array(reference["probs"], np.float32))
        assert batch.kept_counts.ravel().tolist() == reference["kept_counts"]
        assert np.array_equal(batch.residual.ravel(), np.array(reference["residual"], np.float32))
        b, t, i = np.meshgrid(np.arange(2), np.arange(16), np.arange(v), indexing="ij")
        logits = torch.from_numpy((3 * np.sin(0.37 * i + 1.3 * t + 2.1 * b)).astype(np.float32))
        args = [torch.from_numpy(a) for a in (batch.ids, batch.probs, batch.kept_counts, batch.residual)]
        for tau, want in reference["loss_by_temperature"].items():
            got = float(kd_loss(logits, *args, temperature=float(tau)))
            assert abs(got - want) <= 1e-5 * abs(want), (tau, got, want)


FORK_AFTER_RUNTIME = """
import sys
import logitstore
from logitstore import _native
from logitstore.torch import LogitStoreDataset
from torch.utils.data import DataLoader

path = sys.argv[1]
store = logitstore.Store(path)
# Start the runtime's threads in this process: fills on threads still alive at the fork, and enough reads to run
# collections.
running = store.batches(4, 32, 8, threads=2)
for _ in range(10):
    next(running)
for _ in range(20):
    [store[i] for i in range(len(store))]


class CollectingDataset(LogitStoreDataset):
    def __iter__(self):
        # Enough managed garbage in the worker for the library to run collections there.
        with logitstore.Store(self.path) as mine:
            for _ in range(3000):
                _native.take_bytes(lambda data, length: _native.lib().logitstore_store_facts(mine._handle, data, length))
        yield from super().__iter__()


dataset = CollectingDataset(path, 4, 32, 8, rank=0, world_size=1, epochs=3)
steps = [b["step"] for b in DataLoader(dataset, batch_size=None, num_workers=2)]
assert steps == list(range(3 * dataset.steps_per_epoch)), steps
running.close()
store.close()
print("ok")
"""


def test_workers_forked_after_the_runtime_started_do_not_hang(loader_store, tmp_path):
    import subprocess
    import sys

    from conftest import REPO

    script = tmp_path / "fork.py"
    script.write_text(FORK_AFTER_RUNTIME)
    result = subprocess.run([sys.executable, str(script), str(loader_store)], capture_output=True, text=True, timeout=120,
                            env={"PYTHONPATH": str(REPO / "python"), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr


def test_decode_threads_in_process_give_the_same_batches(loader_store):
    def epoch(threads, workers):
        dataset = LogitStoreDataset(loader_store, 4, 32, 8, seed=11, rank=0, world_size=1, threads=threads)
        return [(b["step"], b["ids"].clone()) for b in DataLoader(dataset, batch_size=None, num_workers=workers)]

    serial = epoch(1, 0)
    for got in (epoch(3, 0), epoch(2, 2)):
        assert [s for s, _ in got] == [s for s, _ in serial]
        assert all(torch.equal(a, b) for (_, a), (_, b) in zip(got, serial))


def test_set_epoch_reaches_persistent_workers(loader_store):
    dataset = LogitStoreDataset(loader_store, 4, 32, 8, rank=0, world_size=1)
    loader = DataLoader(dataset, batch_size=None, num_workers=2, persistent_workers=True)
    n = dataset.steps_per_epoch
    for epoch in range(3):
        dataset.set_epoch(epoch, start_step=1 if epoch == 2 else 0)
        assert [b["step"] for b in loader] == list(range(epoch * n + (1 if epoch == 2 else 0), (epoch + 1) * n))
