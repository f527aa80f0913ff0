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


class TensorBatch(Batch):
    """A `Batch` whose buffers are torch tensors (shared memory in a DataLoader worker, pinned when asked)."""

    def __init__(self, batch_size, sequence_length, width, *, shared=False, pin_memory=False):
        b, t, k = batch_size, sequence_length, width

        def make(shape, dtype):
            tensor = torch.zeros(shape, dtype=dtype)
            if shared:
                tensor.share_memory_()
            elif pin_memory:
                tensor = tensor.pin_memory()
            return tensor

        self.tensors = {
            "tokens": make((b, t), torch.int32), "kept_counts": make((b, t), torch.int32),
            "residual": make((b, t), torch.float32), "ids": make((b, t, k), torch.int32),
            "probs": make((b, t, k), torch.float32), "row_sequence": make((b,), torch.int64),
            "row_offset": make((b,), torch.int32),
        }
        x = self.tensors
        super().__init__(x["tokens"].numpy(), x["kept_counts"].numpy(), x["residual"].numpy(), x["ids"].numpy(),
                         x["probs"].numpy(), x["row_sequence"].numpy().view(np.uint64), x["row_offset"].numpy())


class LogitStoreDataset(IterableDataset):
    """
    `epochs` epochs (from `epoch`) of a store's batches as dicts of tensors: tokens, kept_counts, residual [B, T];
    ids, probs [B, T, K]; row_sequence, row_offset [B]; step. Batches are already whole: use DataLoader(dataset, batch_size=None).

    The order is a pure function of (seed, epoch, step): blocks split by rank / world size (as given, else
    torch.distributed's, else RANK / WORLD_SIZE), steps split round-robin over DataLoader workers, so a DataLoader hands
    them out in step order whatever num_workers is; `start_step` resumes inside the epoch. Each batch is decoded
    straight into a ring of `ring_size` reused tensors (shared memory in a worker, so passing it on copies nothing): a
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
            ring = [TensorBatch(loader.batch_size, loader.sequence_length, loader.width, shared=info is not None,
                                pin_memory=self.pin_memory and info is None) for _ in range(self.ring_size)]
            epoch, start_step = self.epoch, self.start_step
            first = epoch * loader.steps_per_epoch + start_step
            end = (epoch + self.epochs) * loader.steps_per_epoch
            for batch in fill_in_order(loader, range(first + worker, end, workers), ring, self.threads):
                yield dict(batch.tensors, step=batch.step)


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
