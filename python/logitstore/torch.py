"""PyTorch over a LogitStore store: an IterableDataset of ready [B, T, K] batches, and the KD loss of the C# trainer."""

import os

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from .store import Batch, Store, fill_in_order


def rank_and_world_size(rank=None, world_size=None):
    """This process's data-parallel rank: as given, else torch.distributed's, else the RANK / WORLD_SIZE environment."""
    if rank is not None and world_size is not None:
        return rank, world_size
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


_FIELDS = (("tokens", torch.int32, 2), ("kept_counts", torch.int32, 2), ("residual", torch.float32, 2),
           ("ids", torch.int32, 3), ("probs", torch.float32, 3), ("row_sequence", torch.int64, 1),
           ("row_offset", torch.int32, 1))


def _slot_layout(b, t, k):
    """(name, dtype, shape, byte offset) of each buffer inside one slot of `slot_bytes`; every buffer 64-byte aligned."""
    layout, offset = [], 0
    for name, dtype, rank in _FIELDS:
        shape = {1: (b,), 2: (b, t), 3: (b, t, k)}[rank]
        layout.append((name, dtype, shape, offset))
        size = int(np.prod(shape)) * torch.empty((), dtype=dtype).element_size()
        offset += (size + 63) // 64 * 64
    return layout, offset


def _views(base, b, t, k):
    """The batch's tensors as views of one uint8 tensor laid out by `_slot_layout`."""
    layout, _ = _slot_layout(b, t, k)
    return {name: base[offset:offset + int(np.prod(shape)) * torch.empty((), dtype=dtype).element_size()]
            .view(dtype).view(shape) for name, dtype, shape, offset in layout}


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


class _WorkerSlot:
    """
    One ring slot of a DataLoader worker: an anonymous shared-memory file (memfd) that the worker keeps open for its
    whole life, so the training process can map it through /proc/<worker>/fd/<fd>. No name ever exists in the file
    system, so nothing is left behind however the worker ends.
    """

    def __init__(self, b, t, k):
        self.shape = (b, t, k)
        self.nbytes = _slot_layout(b, t, k)[1]
        self.fd = os.memfd_create("logitstore-batch")
        os.ftruncate(self.fd, self.nbytes)
        self.token = int.from_bytes(os.urandom(8), "little")
        base = torch.from_file(f"/proc/self/fd/{self.fd}", shared=True, size=self.nbytes, dtype=torch.uint8)
        self.batch = TensorBatch(b, t, k, base=base)


class BatchRing:
    """
    `size` reusable batch buffers for this process. In the training process they are plain (or pinned) tensors and a
    batch is handed on as its dict of tensors. In a DataLoader worker they are shared-memory slots, kept for the
    worker's whole life under `key` (across epochs and iterators: a batch may still be on its way when an iterator
    ends), and a batch is handed on as the address of its slot, which the training process maps once.
    """

    _worker_slots = {}

    def __init__(self, key, size, b, t, k, *, pin_memory=False):
        self.in_worker = get_worker_info() is not None
        if self.in_worker:
            slots = BatchRing._worker_slots.setdefault((key, b, t, k), [])
            while len(slots) < size:
                slots.append(_WorkerSlot(b, t, k))
            self._slots = slots[:size]
            self.batches = [slot.batch for slot in self._slots]
        else:
            self.batches = [TensorBatch(b, t, k, pin_memory=pin_memory) for _ in range(size)]

    def hand_off(self, i, step):
        """What the iterator yields for the batch in buffer i: its tensors, or (in a worker) its slot's address."""
        i %= len(self.batches)
        if self.in_worker:
            return _SlotHandOff(self._slots[i], step)
        return dict(self.batches[i].tensors, step=step)


class _SlotHandOff:
    """What a worker sends for a batch: where its slot is, not its bytes (pickles to ~100 bytes)."""

    def __init__(self, slot, step):
        self.slot, self.step = slot, step

    def __reduce__(self):
        s = self.slot
        return _receive_slot, (os.getpid(), s.fd, s.token, s.nbytes, s.shape, self.step)


# Slots mapped in the training process, by (worker pid, fd, token); entries of workers that have exited are dropped,
# and their mappings go when the last tensor viewing them does.
_mapped_slots = {}


def _receive_slot(pid, fd, token, nbytes, shape, step):
    key = (pid, fd, token)
    base = _mapped_slots.get(key)
    if base is None:
        for other in [key for key in _mapped_slots if key[0] != pid and not _alive(key[0])]:
            del _mapped_slots[other]
        base = torch.from_file(f"/proc/{pid}/fd/{fd}", shared=True, size=nbytes, dtype=torch.uint8)
        _mapped_slots[key] = base
    return dict(_views(base, *shape), step=step)


def _alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


class LogitStoreDataset(IterableDataset):
    """
    `epochs` epochs (from `epoch`) of a store's batches as dicts of tensors: tokens, kept_counts, residual [B, T];
    ids, probs [B, T, K]; row_sequence, row_offset [B]; step. Batches are already whole: use DataLoader(dataset, batch_size=None).

    The order is a pure function of (seed, epoch, step): blocks split by rank / world size (as given, else
    torch.distributed's, else RANK / WORLD_SIZE), steps split round-robin over DataLoader workers, so a DataLoader hands
    them out in step order whatever num_workers is; `start_step` resumes inside the epoch. Each batch is decoded
    straight into a ring of `ring_size` reused tensors. In a worker the ring is shared memory that the training process
    maps once, and a batch crosses as the address of its slot (about 100 bytes, not a pickled tensor per buffer): a
    batch stays valid while fewer than ring_size - prefetch_factor - 1 later batches of its worker have been taken;
    clone what must live longer. `threads` decode threads per process (the decode releases the GIL): with
    num_workers=0 the batches then come with no process hand-off at all, as from the C# loader.
    """

    def __init__(self, path, batch_size, sequence_length=None, width=None, *, shuffle=True, seed=1, epoch=0, start_step=0,
                 epochs=1, rank=None, world_size=None, threads=1, ring_size=6, pin_memory=False,
                 skip_damaged_blocks=False):
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
        self._steps_per_epoch = None

    @property
    def epoch(self):
        return self._position[0]

    @property
    def start_step(self):
        return self._position[1]

    def set_epoch(self, epoch, start_step=0):
        """The epoch (and the step inside it) the next iteration starts at, in this process and its workers."""
        self._position[0], self._position[1] = epoch, start_step

    def _loader(self, store):
        return store.loader(self.batch_size, self.sequence_length, self.width, shuffle=self.shuffle, seed=self.seed,
                            rank=self.rank, world_size=self.world_size, skip_damaged_blocks=self.skip_damaged_blocks)

    @property
    def steps_per_epoch(self):
        if self._steps_per_epoch is None:
            with Store(self.path, open_damaged=self.skip_damaged_blocks) as store:
                with self._loader(store) as loader:
                    self._steps_per_epoch = loader.steps_per_epoch
        return self._steps_per_epoch

    def __len__(self):
        return max(0, self.epochs * self.steps_per_epoch - self.start_step)

    def __iter__(self):
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        with Store(self.path, open_damaged=self.skip_damaged_blocks) as store, self._loader(store) as loader:
            ring = BatchRing(self._id, self.ring_size, loader.batch_size, loader.sequence_length, loader.width,
                             pin_memory=self.pin_memory)
            epoch, start_step = self.epoch, self.start_step
            first = epoch * loader.steps_per_epoch + start_step
            end = (epoch + self.epochs) * loader.steps_per_epoch
            steps = range(first + worker, end, workers)
            for i, batch in enumerate(fill_in_order(loader, steps, ring.batches, self.threads)):
                yield ring.hand_off(i, batch.step)


def kd_loss(student_logits, ids, probs, kept_counts, residual, temperature=1.0):
    """
    Forward KL(p || q) between the stored teacher distribution and softmax(student_logits / tau), averaged over
    positions and scaled by tau^2: the definition of KdLoss (ForwardKl) in the C# trainer. p is the kept entries times
    (1 - residual), with the residual spread evenly over the V - n ids not kept (spec 6.1); at tau != 1, p^(1/tau)
    renormalised. Every sum over the vocabulary is taken in closed form from the log-softmax, so nothing beyond the
    logits [B, T, V] is of size V.
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


def _tempered(probs, residual, mask, mask_f, rest, temperature):
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
