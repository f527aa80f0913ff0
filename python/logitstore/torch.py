"""PyTorch over a LogitStore store: an IterableDataset of ready [B, T, K] batches, and the KD loss of the C# trainer."""

from __future__ import annotations

import os
from typing import Any, Iterator

import torch
from torch.utils.data import IterableDataset, get_worker_info

from .ring import BatchRing, TensorBatch
from .store import Loader, Store, StrPath, fill_in_order

__all__ = ["BatchRing", "LogitStoreDataset", "TensorBatch", "kd_loss", "rank_and_world_size"]


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


# The device cut is a module of its own (it needs no dataset machinery); it is reached here, with the rest of torch.
from .truncation import truncate  # noqa: E402,F401
