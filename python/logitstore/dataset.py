"""A store's batches for PyTorch: an IterableDataset of ready [B, T, K] batches, split over ranks and DataLoader workers."""

from __future__ import annotations

import os
from typing import Any, Iterator

import torch
from torch.utils.data import IterableDataset, get_worker_info

from .ring import BatchRing
from .store import Loader, Store, StrPath, fill_in_order

__all__ = ["LogitStoreDataset", "rank_and_world_size"]


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
    them out in step order whatever num_workers is; `start_step` resumes inside the epoch. `state_dict` and
    `load_state_dict` (torchdata's `Stateful` protocol, which `StatefulDataLoader` calls) save and restore the next
    step the training loop will receive, with what must match to resume: the store's fingerprint and the batch
    options. Each batch is decoded
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
        self._shape: tuple[int, int, int] | None = None   # (B, T, K) as the loader resolves them
        self._fingerprint: dict[str, str] | None = None
        # Where the loop stands in this process, set as each batch is handed on: (global next step, DataLoader
        # worker id or None, workers). None until this process yields a batch.
        self._progress: tuple[int, int | None, int] | None = None
        # A worker's own next step from a state that worker saved (see load_state_dict): (worker, workers, step).
        self._worker_resume: tuple[int, int, int] | None = None

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
        self._progress = self._worker_resume = None

    def _loader(self, store: Store) -> Loader:
        return store.loader(self.batch_size, self.sequence_length, self.width, shuffle=self.shuffle, seed=self.seed,
                            rank=self.rank, world_size=self.world_size, skip_damaged_blocks=self.skip_damaged_blocks)

    def _describe(self) -> None:
        """Opens the store once to learn the steps per epoch, the batch shape and the store's fingerprint."""
        with Store(self.path, open_damaged=self.skip_damaged_blocks) as store:
            with self._loader(store) as loader:
                self._steps_per_epoch = loader.steps_per_epoch
                self._shape = (loader.batch_size, loader.sequence_length, loader.width)
            self._fingerprint = store.manifest.get("fingerprint")

    @property
    def steps_per_epoch(self) -> int:
        """Steps in one epoch of this rank (the store is opened once to count them)."""
        if self._steps_per_epoch is None:
            self._describe()
        assert self._steps_per_epoch is not None
        return self._steps_per_epoch

    def _options(self) -> dict[str, Any]:
        """The options a resumed dataset must share with the saved one: those that decide which rows a step holds."""
        if self._shape is None:
            self._describe()
        assert self._shape is not None
        b, t, k = self._shape
        return {"batch_size": b, "sequence_length": t, "width": k, "shuffle": bool(self.shuffle), "seed": self.seed,
                "rank": self.rank, "world_size": self.world_size, "skip_damaged_blocks": bool(self.skip_damaged_blocks)}

    def state_dict(self, batches_consumed: int | None = None) -> dict[str, Any]:
        """Where the training loop stands: the next step it will receive, and what a resume must match.

        In the process that runs the iteration (num_workers=0) the position follows each batch handed to the loop, so
        the state taken between two batches resumes at the next one. With num_workers > 0 the batches are made in the
        workers, and the training process cannot tell which of them the loop has taken: pass `batches_consumed`, the
        batches the loop took from the iteration that started at (epoch, start_step). In a DataLoader worker (where
        `StatefulDataLoader` asks) the state also records that worker's own next step, which `load_state_dict` in the
        same worker of a DataLoader with as many workers takes up.

        Args:
            batches_consumed: Batches the loop has taken since the iteration began at (epoch, start_step); None for
                the position this process has seen.

        Returns:
            A plain dict: `epoch`, `next_step` (within that epoch), `store_fingerprint` (the manifest's fingerprint,
            spec 2.9, as the C# loader's resume state records it), `options` (batch shape, order and split), and
            for a worker's state `worker`: {`id`, `num_workers`, `next_step` (global)}.
        """
        options = self._options()
        spe = self.steps_per_epoch
        worker = None
        if batches_consumed is not None:
            step = self.epoch * spe + self.start_step + int(batches_consumed)
        elif self._progress is not None:
            step, worker_id, workers = self._progress
            if worker_id is not None:
                worker = {"id": worker_id, "num_workers": workers, "next_step": step - 1 + workers}
        else:
            step = self.epoch * spe + self.start_step
        epoch, next_step = divmod(step, spe) if spe else (self.epoch, 0)
        state: dict[str, Any] = {"epoch": epoch, "next_step": next_step,
                                 "store_fingerprint": dict(self._fingerprint) if self._fingerprint else None,
                                 "options": options}
        if worker is not None:
            state["worker"] = worker
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Resumes at a state from `state_dict`: the next iteration starts at its step, in every DataLoader worker.

        Args:
            state: A state from `state_dict` of a dataset over the same store with the same options.

        Raises:
            ValueError: The state is not one of a `state_dict`, or was saved over another store (naming the fingerprint
                components that differ) or with other options (naming them, saved and here).
        """
        if not isinstance(state, dict) or not all(key in state for key in ("epoch", "next_step", "options")):
            raise ValueError("not a LogitStoreDataset state: it needs epoch, next_step and options")
        options, saved_options = self._options(), state["options"]
        differing = [f"{name} {saved_options.get(name)!r} (saved) against {value!r} (here)"
                     for name, value in options.items() if saved_options.get(name) != value]
        if differing:
            raise ValueError("the state was saved with other options: " + "; ".join(differing))
        saved, here = state.get("store_fingerprint"), self._fingerprint
        if saved != here:
            components = [n for n in _FINGERPRINT_ORDER[:-1] if (saved or {}).get(n) != (here or {}).get(n)]
            raise ValueError(f"{self.path}: the store's {', '.join(components) or 'fingerprint'} differ from the store "
                             f"the state was saved over (fingerprint {(here or {}).get('content')}, the state recorded "
                             f"{(saved or {}).get('content')})")
        epoch, next_step = int(state["epoch"]), int(state["next_step"])
        if epoch < 0 or not 0 <= next_step < max(1, self.steps_per_epoch):
            raise ValueError(f"the state's step ({epoch}, {next_step}) is outside [0, {self.steps_per_epoch}) of an epoch")
        worker, info = state.get("worker"), get_worker_info()
        if worker is not None and info is not None and (worker["id"], worker["num_workers"]) == (info.id, info.num_workers):
            # This worker's own state (StatefulDataLoader hands each worker the one it saved): the workers stopped
            # at different steps, so each takes up its own, and the position the workers share is left alone.
            self._progress = None
            self._worker_resume = (info.id, info.num_workers, int(worker["next_step"]))
            return
        self.set_epoch(epoch, next_step)

    def __len__(self) -> int:
        """Batches one iteration yields over all workers."""
        return max(0, self.epochs * self.steps_per_epoch - self.start_step)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """Yields this rank's and this DataLoader worker's batches, in step order, as dicts of tensors and step."""
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        with Store(self.path, open_damaged=self.skip_damaged_blocks) as store, self._loader(store) as loader:
            epoch, start_step = self.epoch, self.start_step
            self._progress = None
            first = epoch * loader.steps_per_epoch + start_step
            end = (epoch + self.epochs) * loader.steps_per_epoch
            own_first = first + worker
            if self._worker_resume is not None and self._worker_resume[:2] == (worker, workers):
                own_first = self._worker_resume[2]   # this worker's own place, from the state it saved
            self._worker_resume = None
            steps = range(own_first, end, workers)
            in_worker = info.id if info is not None else None
            with BatchRing(self._id, self.ring_size, loader.batch_size, loader.sequence_length, loader.width,
                           pin_memory=self.pin_memory) as ring:
                for i, batch in enumerate(fill_in_order(loader, steps, ring.batches, self.threads)):
                    # Set before the yield: the generator waits there until the loop has taken this batch.
                    self._progress = (batch.step + 1, in_worker, workers)
                    yield ring.hand_off(i, batch.step)


# The fingerprint's components in the order of spec 2.9, then the hash over all of them.
_FINGERPRINT_ORDER = ("teacher", "tokenizer", "corpus", "processing", "codecs", "content")
