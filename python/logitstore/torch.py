"""PyTorch over a LogitStore store: an IterableDataset of ready [B, T, K] batches, and the KD loss of the C# trainer."""

from __future__ import annotations

import functools
import os
import threading
from typing import Any, Iterator

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from .store import Batch, Loader, Store, StrPath, fill_in_order


def rank_and_world_size(rank: int | None = None, world_size: int | None = None) -> tuple[int, int]:
    """This process's data-parallel rank and world size.

    Args:
        rank: The rank, used with world_size when both are given.
        world_size: The world size, used with rank when both are given.

    Returns:
        (rank, world_size): as given, else torch.distributed's, else the RANK / WORLD_SIZE environment (0 and 1 unset).
    """
    if rank is not None and world_size is not None:
        return rank, world_size
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


# (name, dtype, element bytes, rank) of the buffers of one batch, in slot order.
_FIELDS = (("tokens", torch.int32, 4, 2), ("kept_counts", torch.int32, 4, 2), ("residual", torch.float32, 4, 2),
           ("ids", torch.int32, 4, 3), ("probs", torch.float32, 4, 3), ("row_sequence", torch.int64, 8, 1),
           ("row_offset", torch.int32, 4, 1))

# A worker's slot starts with its 8-byte token, which the training process checks after mapping it.
_SLOT_HEADER = 64


@functools.lru_cache(maxsize=64)
def _slot_layout(b, t, k):
    """((name, dtype, shape, byte offset, bytes) per buffer, slot bytes): after the header, every buffer 64-byte aligned."""
    layout, offset = [], _SLOT_HEADER
    for name, dtype, size, rank in _FIELDS:
        shape = {1: (b,), 2: (b, t), 3: (b, t, k)}[rank]
        nbytes = int(np.prod(shape)) * size
        layout.append((name, dtype, shape, offset, nbytes))
        offset += (nbytes + 63) // 64 * 64
    return tuple(layout), offset


def _views(base, b, t, k):
    """The batch's tensors as views of one uint8 tensor laid out by `_slot_layout`."""
    return {name: base[offset:offset + nbytes].view(dtype).view(shape)
            for name, dtype, shape, offset, nbytes in _slot_layout(b, t, k)[0]}


class TensorBatch(Batch):
    """A `Batch` whose buffers are torch tensors: views of one uint8 tensor (`base`), pinned when asked."""

    def __init__(self, batch_size, sequence_length, width, *, pin_memory=False, base=None):
        b, t, k = batch_size, sequence_length, width
        if base is None:
            base = torch.zeros(_slot_layout(b, t, k)[1], dtype=torch.uint8)
            if pin_memory:
                base = base.pin_memory()
        self.base = base
        self.tensors = x = _views(base, b, t, k)
        super().__init__(x["tokens"].numpy(), x["kept_counts"].numpy(), x["residual"].numpy(), x["ids"].numpy(),
                         x["probs"].numpy(), x["row_sequence"].numpy().view(np.uint64), x["row_offset"].numpy())


def _untyped_storage(tensor):
    return tensor.untyped_storage() if hasattr(tensor, "untyped_storage") else tensor.storage()


class _WorkerSlot:
    """
    One ring slot of a DataLoader worker: torch shared memory held through a file descriptor (torch's own
    file_descriptor sharing, whatever the strategy set), so that a tensor of it still pickles the usual way, and so
    that the training process can map it by path, /proc/<worker>/fd/<fd>, while the worker lives. The file has no
    name: nothing is left behind however the worker ends.
    """

    def __init__(self, b, t, k):
        self.shape = (b, t, k)
        self.nbytes = _slot_layout(b, t, k)[1]
        base = torch.zeros(self.nbytes, dtype=torch.uint8)
        self.fd, _ = _untyped_storage(base)._share_fd_cpu_()
        self.token = int.from_bytes(os.urandom(8), "little") >> 1
        base[:8].view(torch.int64)[0] = self.token
        self.batch = TensorBatch(b, t, k, base=base)


class _WorkerRing:
    """A worker's slots for one dataset and batch shape, and the slot the next batch goes to (across iterators)."""

    def __init__(self):
        self.slots, self.next, self.in_use = [], 0, False


class BatchRing:
    """
    `size` reusable batch buffers for this process; use it as a context manager around one iteration. In the training
    process they are plain (or pinned) tensors and a batch is handed on as its dict of tensors. In a DataLoader worker
    they are shared-memory slots, kept for the worker's whole life under `key` and taken up where the last iterator
    left off (a persistent worker's next epoch does not overwrite the batches the last one handed out first), and a
    batch is handed on as a dict whose pickle is its slot's address; the training process maps each slot once.
    """

    _worker_rings = {}
    _slot_of_ids = {}   # data_ptr of a slot's ids tensor -> the slot (this worker's)

    def __init__(self, key, size, b, t, k, *, pin_memory=False):
        self.in_worker = get_worker_info() is not None
        self._ring = None
        if not self.in_worker:
            self.batches = [TensorBatch(b, t, k, pin_memory=pin_memory) for _ in range(size)]
            return
        rings = BatchRing._worker_rings.setdefault((key, b, t, k), [])
        ring = next((r for r in rings if not r.in_use), None)   # a second live iterator gets slots of its own
        if ring is None:
            ring = _WorkerRing()
            rings.append(ring)
        while len(ring.slots) < size:
            slot = _WorkerSlot(b, t, k)
            ring.slots.append(slot)
            BatchRing._slot_of_ids[slot.batch.tensors["ids"].data_ptr()] = slot
        ring.in_use = True
        self._ring, self._start = ring, ring.next % size
        self._order = [ring.slots[(self._start + j) % size] for j in range(size)]
        self.batches = [slot.batch for slot in self._order]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self._ring is not None:
            self._ring.in_use = False

    def hand_off(self, i, step):
        """What the iterator yields for the batch in buffer i (in `batches` order): a dict of its tensors and step."""
        n = len(self.batches)
        if not self.in_worker:
            return dict(self.batches[i % n].tensors, step=step)
        self._ring.next = (self._start + i + 1) % n
        return _SlotHandOff(dict(self.batches[i % n].tensors, step=step))


class _SlotHandOff(dict):
    """
    A worker's batch: the dict of its slot's tensors (what code in the worker, a collate_fn say, sees), which pickles
    as the slot's address (about 100 bytes) while its tensors are still the slot's; a dict built anew from it (as
    DataLoader's default_convert does) finds its slot again by its ids tensor. Other tensors pickle the usual way.
    """

    def _slot(self):
        ids = self.get("ids")
        slot = BatchRing._slot_of_ids.get(ids.data_ptr()) if torch.is_tensor(ids) else None
        if slot is None or any(not torch.is_tensor(v) or v.data_ptr() != slot.batch.tensors[k].data_ptr()
                               for k, v in self.items() if k != "step"):
            return None
        return slot if set(self) == set(slot.batch.tensors) | {"step"} else None

    def __reduce__(self):
        slot = self._slot()
        if slot is None:
            return dict, (dict(self),)
        return _receive_slot, (os.getpid(), slot.fd, slot.token, slot.nbytes, slot.shape, self["step"])


# Slots mapped in the training process, by (worker pid, fd, token). A miss drops the entries of workers that have
# exited; a mapping itself goes when the last tensor viewing it does. A forked child starts with none.
_mapped_slots = {}
_mapped_slots_lock = threading.Lock()


def _forget_mapped_slots_after_fork():
    global _mapped_slots_lock
    _mapped_slots.clear()
    _mapped_slots_lock = threading.Lock()   # another thread may have held it at the fork


os.register_at_fork(after_in_child=_forget_mapped_slots_after_fork)


def _receive_slot(pid, fd, token, nbytes, shape, step):
    key = (pid, fd, token)
    base = _mapped_slots.get(key)
    if base is None:
        with _mapped_slots_lock:
            base = _mapped_slots.get(key)
            if base is None:
                for stale in [s for s in _mapped_slots if s[0] != pid and not _alive(s[0])]:
                    del _mapped_slots[stale]
                base = _map_slot(pid, fd, token, nbytes)
                _mapped_slots[key] = base
    return dict(_views(base, *shape), step=step)


def _map_slot(pid, fd, token, nbytes):
    path = f"/proc/{pid}/fd/{fd}"
    try:
        if os.stat(path).st_size != nbytes:
            raise OSError(f"{path} is not a batch slot of {nbytes} bytes")
        base = torch.from_file(path, shared=True, size=nbytes, dtype=torch.uint8)
    except (OSError, RuntimeError) as e:
        raise RuntimeError(f"cannot map DataLoader worker {pid}'s batch slot ({e}); where /proc/<pid>/fd is not "
                           "readable, use num_workers=0 with LogitStoreDataset(threads=N)") from e
    if int(base[:8].view(torch.int64)[0]) != token:
        raise RuntimeError(f"{path} is not the batch slot worker {pid} sent (its token differs)")
    return base


def _alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


class LogitStoreDataset(IterableDataset):
    """A store's batches for PyTorch: `epochs` epochs, from `epoch`, as dicts of tensors.

    Each batch holds tokens, kept_counts, residual [B, T]; ids, probs [B, T, K]; row_sequence, row_offset [B]; and
    step. Batches are already whole: use DataLoader(dataset, batch_size=None).

    The order is a pure function of (seed, epoch, step): blocks split by rank / world size (as given, else
    torch.distributed's, else RANK / WORLD_SIZE), steps split round-robin over DataLoader workers, so a DataLoader hands
    them out in step order whatever num_workers is; `start_step` resumes inside the epoch. Each batch is decoded
    straight into a ring of `ring_size` reused tensors (`BatchRing`). In a worker the ring is shared memory that the
    training process maps once, and a batch crosses as the address of its slot (about 100 bytes, not a pickled tensor
    per buffer). A batch stays valid while fewer than ring_size - prefetch_factor - threads later batches of its
    worker have been taken (ring_size - threads with num_workers=0); clone what must live longer. `threads` decode
    threads per process (the decode releases the GIL): with num_workers=0 the batches then come with no process
    hand-off at all, as from the C# loader.
    """

    def __init__(self, path: StrPath, batch_size: int, sequence_length: int | None = None, width: int | None = None, *,
                 shuffle: bool = True, seed: int = 1, epoch: int = 0, start_step: int = 0, epochs: int = 1,
                 rank: int | None = None, world_size: int | None = None, threads: int = 1, ring_size: int = 6,
                 pin_memory: bool = False, skip_damaged_blocks: bool = False) -> None:
        """Describes the batches; the store is opened where they are read (in each DataLoader worker).

        Args:
            path: The store's directory.
            batch_size: B, rows per batch.
            sequence_length: T, positions per row; defaults to the store's.
            width: K, entries per position; defaults to the most the store's truncation keeps.
            shuffle: Whether each epoch visits blocks and rows in a seeded random order.
            seed: The order's seed.
            epoch: The first epoch.
            start_step: The step within the first epoch to start from (to resume).
            epochs: How many epochs one iteration yields.
            rank: This process's rank; with world_size, else found by `rank_and_world_size`.
            world_size: How many ranks split the store's blocks.
            threads: Decode threads per process.
            ring_size: Reused batch buffers per process.
            pin_memory: Whether the training process's buffers are pinned (not a worker's shared memory).
            skip_damaged_blocks: Whether to open a damaged store and leave out the blocks it cannot read.

        Raises:
            ValueError: ring_size does not exceed threads.
        """
        super().__init__()
        self.path = str(path)
        self.batch_size, self.sequence_length, self.width = batch_size, sequence_length, width
        self.shuffle, self.seed, self.epochs = shuffle, seed, epochs
        # Shared memory, so that set_epoch reaches persistent DataLoader workers too.
        self._position = torch.multiprocessing.Array("q", [epoch, start_step], lock=False)
        self.rank, self.world_size = rank_and_world_size(rank, world_size)
        self.ring_size, self.pin_memory, self.skip_damaged_blocks = ring_size, pin_memory, skip_damaged_blocks
        self.threads = threads
        self._id = int.from_bytes(os.urandom(8), "little")
        if ring_size <= threads:
            raise ValueError(f"ring_size {ring_size} must exceed threads {threads}")
        self._steps_per_epoch: int | None = None

    @property
    def epoch(self) -> int:
        """The epoch the next iteration starts at."""
        return self._position[0]

    @property
    def start_step(self) -> int:
        """The step within that epoch the next iteration starts at."""
        return self._position[1]

    def set_epoch(self, epoch: int, start_step: int = 0) -> None:
        """Sets where the next iteration starts, in this process and its DataLoader workers (persistent ones too).

        Args:
            epoch: The epoch.
            start_step: The step within it.
        """
        self._position[0], self._position[1] = epoch, start_step

    def _loader(self, store: Store) -> Loader:
        return store.loader(self.batch_size, self.sequence_length, self.width, shuffle=self.shuffle, seed=self.seed,
                            rank=self.rank, world_size=self.world_size, skip_damaged_blocks=self.skip_damaged_blocks)

    @property
    def steps_per_epoch(self) -> int:
        """Steps in one epoch of this rank (the store is opened once to count them)."""
        if self._steps_per_epoch is None:
            with Store(self.path, open_damaged=self.skip_damaged_blocks) as store:
                with self._loader(store) as loader:
                    self._steps_per_epoch = loader.steps_per_epoch
        return self._steps_per_epoch

    def __len__(self) -> int:
        """Batches one iteration yields over all workers."""
        return max(0, self.epochs * self.steps_per_epoch - self.start_step)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """Yields this rank's and this DataLoader worker's batches, in step order, as dicts of tensors and step."""
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        with Store(self.path, open_damaged=self.skip_damaged_blocks) as store, self._loader(store) as loader:
            epoch, start_step = self.epoch, self.start_step
            first = epoch * loader.steps_per_epoch + start_step
            end = (epoch + self.epochs) * loader.steps_per_epoch
            steps = range(first + worker, end, workers)
            with BatchRing(self._id, self.ring_size, loader.batch_size, loader.sequence_length, loader.width,
                           pin_memory=self.pin_memory) as ring:
                for i, batch in enumerate(fill_in_order(loader, steps, ring.batches, self.threads)):
                    yield ring.hand_off(i, batch.step)


def kd_loss(student_logits: torch.Tensor, ids: torch.Tensor, probs: torch.Tensor, kept_counts: torch.Tensor,
            residual: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """The forward KL between the stored teacher distribution and the student's: KdLoss (ForwardKl) of the C# trainer.

    KL(p || q) with q = softmax(student_logits / tau), averaged over positions and scaled by tau^2. p is the kept
    entries times (1 - residual), with the residual spread evenly over the V - n ids not kept (spec 6.1); at tau != 1,
    p^(1/tau) renormalised. Every sum over the vocabulary is taken in closed form from the log-softmax, so nothing
    beyond the logits [B, T, V] is of size V.

    Args:
        student_logits: The student's logits [B, T, V].
        ids: The batch's kept ids [B, T, K].
        probs: Their probabilities [B, T, K].
        kept_counts: Entries kept per position [B, T].
        residual: Probability mass dropped per position [B, T].
        temperature: tau.

    Returns:
        The loss, a scalar tensor.
    """
    v, k = student_logits.shape[-1], ids.shape[-1]
    log_q = torch.log_softmax(student_logits.float() / temperature, dim=-1)
    mask = torch.arange(k, device=ids.device).view(1, 1, k) < kept_counts.unsqueeze(-1)
    mask_f = mask.float()
    log_q_kept = log_q.gather(-1, ids.long()) * mask_f
    n = kept_counts.float()
    rest = (v - n).clamp_min(1)
    kept, res = _tempered(probs.float(), residual.float(), mask, mask_f, rest, temperature)
    u = res / rest
    p_log_p = (kept * kept.clamp_min(1e-30).log()).sum(-1) + res * u.clamp_min(1e-30).log()
    sum_log_q_all = log_q.sum(-1)
    p_log_q = (kept * log_q_kept).sum(-1) + u * (sum_log_q_all - log_q_kept.sum(-1))
    return (p_log_p - p_log_q).mean() * (temperature * temperature)


def _tempered(probs: torch.Tensor, residual: torch.Tensor, mask: torch.Tensor, mask_f: torch.Tensor, rest: torch.Tensor,
              temperature: float) -> tuple[torch.Tensor, torch.Tensor]:
    kept = (1 - residual).unsqueeze(-1) * probs * mask_f
    if temperature == 1.0:
        return kept, residual
    inv = 1.0 / temperature
    neg_inf = torch.full_like(kept, float("-inf"))
    log_kept = torch.where(mask & (kept > 0), kept.clamp_min(1e-38).log() * inv, neg_inf)
    log_tail = torch.where(residual > 0, rest.log() + (residual / rest).clamp_min(1e-38).log() * inv,
                           torch.full_like(rest, float("-inf")))
    log_z = torch.cat([log_kept, log_tail.unsqueeze(-1)], -1).logsumexp(-1)
    return (log_kept - log_z.unsqueeze(-1)).exp(), (log_tail - log_z).exp()
