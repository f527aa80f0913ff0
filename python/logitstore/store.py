"""A LogitStore store from Python: facts, random access to sequences, and batches decoded into reused buffers."""

from __future__ import annotations

import ctypes
import json
import operator
import os
import threading
from collections import abc
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterable, Iterator, NamedTuple, TypeVar, Union

import numpy as np
from numpy.typing import NDArray

from . import _native

StrPath = Union[str, "os.PathLike[str]"]
"""A path given as a string or as a path object."""


class Sequence(NamedTuple):
    """One stored sequence, as numpy arrays.

    Attributes:
        sequence: The sequence's global id.
        tokens: Its tokens, int32 [T].
        ids: The kept entries' token ids, int32 [T, n], n being the most entries any of its positions kept; a
            position's entries past its kept count are id 0, probability 0.
        probs: The kept entries' probabilities, float32 [T, n].
        kept_counts: How many entries each position kept, int32 [T].
        residual: The probability mass each position dropped, float32 [T].
    """

    sequence: int
    tokens: NDArray[np.int32]
    ids: NDArray[np.int32]
    probs: NDArray[np.float32]
    kept_counts: NDArray[np.int32]
    residual: NDArray[np.float32]


_I32, _I64, _U64 = 2**31, 2**63, 2**64


def _integer(name: str, value: Any, low: int, end: int, error: type[Exception] = ValueError) -> int:
    """`value` as an int in [low, end), else an error naming `name`: ctypes would wrap it into its C type silently."""
    try:
        value = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, not {type(value).__name__}") from None
    if not low <= value < end:
        raise error(f"{name} {value} is outside [{low}, {end})")
    return value


def verify(path: StrPath) -> dict[str, Any]:
    """Verifies a whole store (format spec section 7), every byte of every file.

    Args:
        path: The store's directory.

    Returns:
        The report: `ok`, and each fault's file, offset and problem.
    """
    return json.loads(_native.take_bytes(lambda data, length: _native.lib().logitstore_verify(
        str(path).encode(), data, length)))


_Handle = TypeVar("_Handle", bound="_NativeHandle")


class _NativeHandle:
    """A library handle closed once, by the process that opened it (a forked DataLoader worker leaves it alone)."""

    _handle: ctypes.c_void_p | None = None
    _pid: int

    def _close_native(self, handle: ctypes.c_void_p) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Closes the handle; later calls do nothing, and in a process forked from the opener it is left alone."""
        handle = getattr(self, "_handle", None)
        if handle:
            if _native.owned_here(self._pid):
                self._close_native(handle)
            self._handle = None

    def __del__(self) -> None:
        self.close()

    def __enter__(self: _Handle) -> _Handle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Batch:
    """Buffers for one [B, T, K] batch, in the loader's dense layout.

    The arrays may be views of caller memory (torch tensors, pinned or shared); the loader decodes straight into them.

    Attributes:
        tokens: Tokens, int32 [B, T].
        kept_counts: Entries kept per position, int32 [B, T].
        residual: Probability mass dropped per position, float32 [B, T].
        ids: Kept token ids, int32 [B, T, K]; entries past a position's kept count are 0.
        probs: Their probabilities, float32 [B, T, K].
        row_sequence: The sequence each row was cut from, uint64 [B].
        row_offset: The position in that sequence where each row starts, int32 [B].
        step: The step last filled in, -1 before the first fill.
        pointer: The buffers' addresses as the library takes them.
    """

    def __init__(self, tokens: NDArray[np.int32], kept_counts: NDArray[np.int32], residual: NDArray[np.float32],
                 ids: NDArray[np.int32], probs: NDArray[np.float32], row_sequence: NDArray[np.uint64],
                 row_offset: NDArray[np.int32]) -> None:
        """Wraps existing arrays, which must be writeable, C-contiguous and of the dtypes and shapes above.

        Raises:
            ValueError: An array has another dtype or shape, or is not writeable and C-contiguous.
        """
        b, t = tokens.shape
        k = ids.shape[2]
        expected: dict[str, tuple[NDArray[Any], type[np.generic], tuple[int, ...]]] = {
            "tokens": (tokens, np.int32, (b, t)), "kept_counts": (kept_counts, np.int32, (b, t)),
            "residual": (residual, np.float32, (b, t)), "ids": (ids, np.int32, (b, t, k)),
            "probs": (probs, np.float32, (b, t, k)), "row_sequence": (row_sequence, np.uint64, (b,)),
            "row_offset": (row_offset, np.int32, (b,)),
        }
        for name, (array, dtype, shape) in expected.items():
            if array.dtype != dtype or array.shape != shape or not array.flags.c_contiguous or not array.flags.writeable:
                raise ValueError(f"{name}: needs a writeable C-contiguous {np.dtype(dtype).name} array of shape {shape}, "
                                 f"got {array.dtype} {array.shape}")
        self.tokens, self.kept_counts, self.residual = tokens, kept_counts, residual
        self.ids, self.probs = ids, probs
        self.row_sequence, self.row_offset = row_sequence, row_offset
        self.step = -1
        arrays: tuple[NDArray[Any], ...] = (tokens, kept_counts, residual, ids, probs, row_sequence, row_offset)
        self._buffers = _native.BatchBuffers(*(a.ctypes.data for a in arrays))
        self.pointer = ctypes.pointer(self._buffers)

    @classmethod
    def allocate(cls, batch_size: int, sequence_length: int, width: int) -> Batch:
        """A batch of new zeroed numpy arrays.

        Args:
            batch_size: B, rows per batch.
            sequence_length: T, positions per row.
            width: K, entries per position.
        """
        b, t, k = batch_size, sequence_length, width
        return cls(np.zeros((b, t), np.int32), np.zeros((b, t), np.int32), np.zeros((b, t), np.float32),
                   np.zeros((b, t, k), np.int32), np.zeros((b, t, k), np.float32),
                   np.zeros(b, np.uint64), np.zeros(b, np.int32))

    @property
    def shape(self) -> tuple[int, ...]:
        """(B, T, K)."""
        return self.ids.shape


class Loader(_NativeHandle):
    """Cuts a store into [B, T, K] batches.

    The order is a pure function of (seed, step), blocks are split by rank / world size, and epoch = step //
    steps_per_epoch. `plan(step)` says which rows a step holds; `fill(step, batch)` decodes that step straight into the
    batch's buffers on the calling thread (the GIL is released meanwhile, so threads fill in parallel). The loader runs
    no threads of its own: `fill_in_order` and `logitstore.ring` are the ring.

    Attributes:
        store: The store it reads.
        batch_size: B, rows per batch.
        sequence_length: T, positions per row.
        width: K, entries per position.
        rank: This process's rank.
        world_size: How many ranks split the store's blocks.
        steps_per_epoch: Steps in one epoch of this rank.
    """

    def __init__(self, store: Store, batch_size: int, sequence_length: int, width: int | None = None, *,
                 shuffle: bool = True, seed: int = 1, rank: int = 0, world_size: int = 1,
                 skip_damaged_blocks: bool = False) -> None:
        """Makes a loader over an open store.

        Args:
            store: The store; it must stay open while the loader is used.
            batch_size: B, rows per batch.
            sequence_length: T, positions per row (a divisor of the store's sequence length).
            width: K, entries per position; defaults to the most the store's truncation keeps.
            shuffle: Whether each epoch visits blocks and rows in a seeded random order.
            seed: The order's seed.
            rank: This process's rank, in [0, world_size).
            world_size: How many ranks split the store's blocks.
            skip_damaged_blocks: Whether to leave out blocks a damaged store cannot read, rather than fail.

        Raises:
            ValueError: An argument is out of range, or width is None for a store without a bound on entries.
            TypeError: An integer argument is not an integer.
        """
        if width is None:
            width = store.max_entries_per_position
            if width is None:
                raise ValueError("this store's truncation sets no bound on entries per position: give width")
        batch_size, sequence_length, width, world_size = (_integer(name, value, 1, _I32) for name, value in (
            ("batch_size", batch_size), ("sequence_length", sequence_length), ("width", width), ("world_size", world_size)))
        rank, seed = _integer("rank", rank, 0, world_size), _integer("seed", seed, 0, _U64)
        self.store = store
        self.batch_size, self.sequence_length, self.width = batch_size, sequence_length, width
        self.rank, self.world_size = rank, world_size
        options = _native.LoaderOptions(
            struct_size=ctypes.sizeof(_native.LoaderOptions), batch_size=batch_size, sequence_length=sequence_length,
            width=width, shuffle=int(bool(shuffle)), skip_damaged_blocks=int(bool(skip_damaged_blocks)), seed=seed,
            rank=rank, world_size=world_size)
        handle = ctypes.c_void_p()
        library = _native.lib()
        _native.check(library.logitstore_loader_create(store._handle, ctypes.byref(options), ctypes.byref(handle)))
        self._handle, self._pid = handle, os.getpid()
        self._fill = library.logitstore_loader_fill
        steps = ctypes.c_int64()
        _native.check(library.logitstore_loader_steps_per_epoch(handle, ctypes.byref(steps)))
        self.steps_per_epoch = steps.value

    def allocate(self) -> Batch:
        """A new batch of this loader's shape, in numpy arrays."""
        return Batch.allocate(self.batch_size, self.sequence_length, self.width)

    def reserve_threads(self, threads: int) -> None:
        """Makes decode scratch for threads that call `fill` at once, so that none is made while they run.

        Args:
            threads: How many threads will call `fill` at the same time.
        """
        threads = _integer("threads", threads, 0, _I32)
        _native.check(_native.lib().logitstore_loader_reserve_callers(self._handle, threads))

    def plan(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        """Says which rows one step holds, with no decoding.

        Args:
            step: The global step; its epoch is step // steps_per_epoch.

        Returns:
            (blocks, rows), int32 [B] each: batch row r comes from row rows[r] of the store's block blocks[r], a
            block's rows counted sequence by sequence (the store's sequence_length // T rows a sequence).

        Raises:
            RuntimeError: The loader was made in another process (before a fork).
            ValueError: The step is negative or past the last epoch.
        """
        if not _native.owned_here(self._pid):
            raise RuntimeError("this loader was made before a fork: make loaders in the process that uses them")
        step = _integer("step", step, 0, _I64)
        blocks, rows = np.empty(self.batch_size, np.int32), np.empty(self.batch_size, np.int32)
        _native.check(_native.lib().logitstore_loader_plan(
            self._handle, step, blocks.ctypes.data, rows.ctypes.data, self.batch_size))
        return blocks, rows

    def fill(self, step: int, batch: Batch) -> Batch:
        """Decodes one step's rows into a batch's buffers, on the calling thread (the GIL is released meanwhile).

        Args:
            step: The global step; its epoch is step // steps_per_epoch.
            batch: Buffers of this loader's shape.

        Returns:
            The batch, its `step` set.

        Raises:
            RuntimeError: The loader was made in another process (before a fork).
            ValueError: The batch has another shape, or step is negative.
            StoreCorruptError: A block the step needs violates the format.
        """
        if not _native.owned_here(self._pid):
            raise RuntimeError("this loader was made before a fork: make loaders in the process that uses them")
        if batch.shape != (self.batch_size, self.sequence_length, self.width):
            wanted = (self.batch_size, self.sequence_length, self.width)
            raise ValueError(f"batch of shape {batch.shape}; this loader fills {wanted}")
        step = _integer("step", step, 0, _I64)
        status = self._fill(self._handle, step, batch.pointer)
        if status != _native.OK:
            _native.check(status)
        batch.step = step
        return batch

    def _close_native(self, handle: ctypes.c_void_p) -> None:
        _native.lib().logitstore_loader_close(handle)


def _first_fill_on_each_thread(pool: ThreadPoolExecutor, threads: int, loader: Loader, step: int,
                               ring: abc.Sequence[Batch]) -> None:
    """Has each of the pool's `threads` threads fill `step` once, now.

    A thread's first call into the library makes its own state there (once per thread), and which threads the
    scheduler gives the first real steps to is up to it. The tasks meet at a barrier, so each runs on a thread of its
    own.
    """
    meet = threading.Barrier(threads)

    def first_fill(k: int) -> None:
        meet.wait(timeout=60)
        loader.fill(step, ring[k])

    for done in [pool.submit(first_fill, k) for k in range(threads)]:
        done.result()


def fill_in_order(loader: Loader, steps: Iterable[int], ring: abc.Sequence[Batch], threads: int = 1) -> Iterator[Batch]:
    """Yields `loader.fill(step, ...)` for each step, in order, into the ring's buffers in turn.

    With threads > 1 the next `threads` steps are being decoded meanwhile, so the ring needs more buffers than threads:
    a yielded batch stays valid while fewer than len(ring) - threads later ones have been asked for.

    Args:
        loader: The loader that fills the batches.
        steps: The steps, in the order they are yielded.
        ring: The buffers filled in turn.
        threads: How many threads decode at once.

    Raises:
        ValueError: The ring has no more buffers than threads.
    """
    if threads <= 1:
        for i, step in enumerate(steps):
            yield loader.fill(step, ring[i % len(ring)])
        return
    if len(ring) <= threads:
        raise ValueError(f"a ring of {len(ring)} buffers for {threads} threads: it needs more buffers than threads")
    steps = list(steps)
    loader.reserve_threads(threads)
    with ThreadPoolExecutor(threads, thread_name_prefix="logitstore-fill") as pool:
        if steps:
            _first_fill_on_each_thread(pool, threads, loader, steps[0], ring)
        pending = [pool.submit(loader.fill, steps[i], ring[i % len(ring)]) for i in range(min(threads, len(steps)))]
        try:
            for i in range(len(steps)):
                batch = pending.pop(0).result()
                ahead = i + threads
                if ahead < len(steps):
                    pending.append(pool.submit(loader.fill, steps[ahead], ring[ahead % len(ring)]))
                yield batch
        finally:
            for future in pending:
                future.cancel()


class Store(_NativeHandle):
    """An open store, checked on opening; `store[i]` is its i-th sequence as numpy arrays.

    Attributes:
        path: The store's directory.
        facts: What the library says of the store, as parsed JSON (docs/native-abi.md).
        manifest: The store's manifest.
        vocab_size: V, the teacher's vocabulary size.
        first_sequence: The global id of the store's first sequence (0 but for a part store).
        sequence_length: Positions per stored sequence.
        max_entries_per_position: The most entries the truncation keeps at a position, or None without a bound.
        damage: What is damaged, one message each (empty unless opened with open_damaged).
    """

    def __init__(self, path: StrPath, *, open_damaged: bool = False) -> None:
        """Opens a store.

        Args:
            path: The store's directory.
            open_damaged: Whether to open a damaged store (reads that need a damaged file then fail).

        Raises:
            StoreCorruptError: The store violates the format, naming the file and byte offset.
            OSError: The path is missing or cannot be read.
        """
        handle = ctypes.c_void_p()
        flags = _native.OPEN_DAMAGED if open_damaged else 0
        _native.check(_native.lib().logitstore_store_open(str(path).encode(), flags, ctypes.byref(handle)))
        self._handle, self._pid = handle, os.getpid()
        self.path = str(path)
        self.facts: dict[str, Any] = json.loads(_native.take_bytes(
            lambda data, length: _native.lib().logitstore_store_facts(self._handle, data, length)))
        self.manifest: dict[str, Any] = self.facts["manifest"]
        self.vocab_size: int = self.facts["vocab_size"]
        self.first_sequence: int = self.facts["first_sequence"]
        self.sequence_length: int = self.facts["sequence_length"]
        self.max_entries_per_position: int | None = self.facts["max_entries_per_position"]
        self.damage: list[str] = self.facts["damage"]

    def __len__(self) -> int:
        """The number of sequences in the store."""
        return self.facts["sequence_count"]

    def __getitem__(self, index: int) -> Sequence:
        """The sequence at an index counted from the store's first (negative indices count from its end)."""
        index = _integer("sequence index", index, -len(self), len(self), IndexError)
        return self.read(self.first_sequence + index % len(self))

    def read(self, sequence: int) -> Sequence:
        """Reads one sequence by its global id.

        Args:
            sequence: The global id; a part store's ids start at its first_sequence.

        Raises:
            IndexError: The store holds no such sequence.
            StoreCorruptError: Its block violates the format.
        """
        sequence = _integer("sequence", sequence, self.first_sequence, self.first_sequence + len(self), IndexError)
        self._check_process()
        library = _native.lib()
        length, entries = ctypes.c_int32(), ctypes.c_int64()
        _native.check(library.logitstore_store_sequence_shape(self._handle, sequence, ctypes.byref(length), ctypes.byref(entries)))
        t, e = length.value, entries.value
        tokens, counts = np.empty(t, np.int32), np.empty(t, np.int32)
        residual = np.empty(t, np.float32)
        flat_ids, flat_probs = np.empty(e, np.int32), np.empty(e, np.float32)
        _native.check(library.logitstore_store_read_sequence(
            self._handle, sequence, tokens.ctypes.data, counts.ctypes.data, residual.ctypes.data, t,
            flat_ids.ctypes.data, flat_probs.ctypes.data, e))
        n = int(counts.max()) if t else 0
        ids, probs = np.zeros((t, n), np.int32), np.zeros((t, n), np.float32)
        rows = np.repeat(np.arange(t), counts)
        starts = np.concatenate(([0], np.cumsum(counts)[:-1])) if t else np.zeros(0, np.int64)
        cols = np.arange(e) - np.repeat(starts, counts)
        ids[rows, cols] = flat_ids
        probs[rows, cols] = flat_probs
        return Sequence(sequence, tokens, ids, probs, counts, residual)

    def _check_process(self) -> None:
        if not _native.owned_here(self._pid):
            raise RuntimeError("this store was opened before a fork: open it in the process that reads it")

    def loader(self, batch_size: int, sequence_length: int | None = None, width: int | None = None,
               **options: Any) -> Loader:
        """Makes a `Loader` over this store.

        Args:
            batch_size: B, rows per batch.
            sequence_length: T, positions per row; defaults to the store's.
            width: K, entries per position; defaults to the most the store's truncation keeps.
            **options: The `Loader` keyword options (shuffle, seed, rank, world_size, skip_damaged_blocks).
        """
        self._check_process()
        return Loader(self, batch_size, sequence_length or self.sequence_length, width, **options)

    def batches(self, batch_size: int, sequence_length: int | None = None, width: int | None = None, *,
                shuffle: bool = True, seed: int = 1, epoch: int = 0, start_step: int = 0, rank: int = 0,
                world_size: int = 1, threads: int = 1, skip_damaged_blocks: bool = False) -> Iterator[Batch]:
        """Yields one epoch's batches, decoded into a ring of threads + 1 reused buffers.

        A yielded batch stays valid until the next one is asked for.

        Args:
            batch_size: B, rows per batch.
            sequence_length: T, positions per row; defaults to the store's.
            width: K, entries per position; defaults to the most the store's truncation keeps.
            shuffle: Whether the epoch visits blocks and rows in a seeded random order.
            seed: The order's seed.
            epoch: The epoch.
            start_step: The step within the epoch to start from (to resume).
            rank: This process's rank, in [0, world_size).
            world_size: How many ranks split the store's blocks.
            threads: How many threads decode at once.
            skip_damaged_blocks: Whether to leave out blocks a damaged store cannot read, rather than fail.

        Yields:
            Dense [B, T] / [B, T, K] numpy batches, in step order.
        """
        epoch, start_step = _integer("epoch", epoch, 0, _I64), _integer("start_step", start_step, 0, _I64)
        threads = _integer("threads", threads, 0, _I32)
        loader = self.loader(batch_size, sequence_length, width, shuffle=shuffle, seed=seed, rank=rank,
                             world_size=world_size, skip_damaged_blocks=skip_damaged_blocks)
        try:
            first, end = epoch * loader.steps_per_epoch + start_step, (epoch + 1) * loader.steps_per_epoch
            ring = [loader.allocate() for _ in range(threads + 1)]
            yield from fill_in_order(loader, range(first, end), ring, threads)
        finally:
            loader.close()

    def _close_native(self, handle: ctypes.c_void_p) -> None:
        _native.lib().logitstore_store_close(handle)
