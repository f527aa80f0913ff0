"""A LogitStore store from Python: facts, random access to sequences, and batches decoded into reused buffers."""

import ctypes
import json
import operator
import os
import threading
from collections import namedtuple
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from . import _native

Sequence = namedtuple("Sequence", "sequence tokens ids probs kept_counts residual")
Sequence.__doc__ = (
    "One stored sequence: tokens [T]; ids and probs [T, n] (n = the most entries any of its positions kept; a position's "
    "entries past its kept count are id 0, probability 0); kept_counts [T]; residual (dropped) mass [T].")


_I32, _I64, _U64 = 2**31, 2**63, 2**64


def _integer(name, value, low, end, error=ValueError):
    """`value` as an int in [low, end), else an error naming `name`: ctypes would wrap it into its C type silently."""
    try:
        value = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, not {type(value).__name__}") from None
    if not low <= value < end:
        raise error(f"{name} {value} is outside [{low}, {end})")
    return value


def verify(path):
    """Full verification (spec 7): a dict with `ok` and every fault's file, offset and problem."""
    return json.loads(_native.take_bytes(lambda data, length: _native.lib().logitstore_verify(
        str(path).encode(), data, length)))


class _NativeHandle:
    """A library handle closed once, by the process that opened it (a forked DataLoader worker leaves it alone)."""

    _handle = None

    def _close_native(self, handle):
        raise NotImplementedError

    def close(self):
        if getattr(self, "_handle", None):
            if _native.owned_here(self._pid):
                self._close_native(self._handle)
            self._handle = None

    def __del__(self):
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Batch:
    """
    Buffers for one [B, T, K] batch, in the loader's dense layout: tokens, kept_counts, residual [B, T]; ids, probs
    [B, T, K]; row_sequence, row_offset [B] (where each row was cut from). The arrays may be views of caller memory
    (torch tensors, pinned or shared); the loader decodes straight into them.
    """

    def __init__(self, tokens, kept_counts, residual, ids, probs, row_sequence, row_offset):
        b, t = tokens.shape
        k = ids.shape[2]
        expected = {
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
        self._buffers = _native.BatchBuffers(*(a.ctypes.data for a in (
            tokens, kept_counts, residual, ids, probs, row_sequence, row_offset)))
        self.pointer = ctypes.pointer(self._buffers)

    @classmethod
    def allocate(cls, batch_size, sequence_length, width):
        b, t, k = batch_size, sequence_length, width
        return cls(np.zeros((b, t), np.int32), np.zeros((b, t), np.int32), np.zeros((b, t), np.float32),
                   np.zeros((b, t, k), np.int32), np.zeros((b, t, k), np.float32),
                   np.zeros(b, np.uint64), np.zeros(b, np.int32))

    @property
    def shape(self):
        return self.ids.shape


class Loader(_NativeHandle):
    """
    Cuts a store into [B, T, K] batches: order a pure function of (seed, step), blocks split by rank / world size,
    epoch = step // steps_per_epoch. `fill(step, batch)` decodes that step straight into the batch's buffers on the
    calling thread (the GIL is released meanwhile, so threads fill in parallel).
    """

    def __init__(self, store, batch_size, sequence_length, width=None, *, shuffle=True, seed=1, rank=0, world_size=1,
                 skip_damaged_blocks=False):
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
            rank=rank, world_size=world_size, start_step=0, workers=0, ring_size=8)
        handle = ctypes.c_void_p()
        library = _native.lib()
        _native.check(library.logitstore_loader_create(store._handle, ctypes.byref(options), ctypes.byref(handle)))
        self._handle, self._pid = handle, os.getpid()
        self._fill = library.logitstore_loader_fill
        steps = ctypes.c_int64()
        _native.check(library.logitstore_loader_steps_per_epoch(handle, ctypes.byref(steps)))
        self.steps_per_epoch = steps.value

    def allocate(self):
        return Batch.allocate(self.batch_size, self.sequence_length, self.width)

    def reserve_threads(self, threads: int) -> None:
        """Makes decode scratch for `threads` threads calling `fill` at once, so that none is made while they run."""
        threads = _integer("threads", threads, 0, _I32)
        _native.check(_native.lib().logitstore_loader_reserve_callers(self._handle, threads))

    def fill(self, step, batch):
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

    def _close_native(self, handle):
        _native.lib().logitstore_loader_close(handle)


def _first_fill_on_each_thread(pool, threads, loader, step, ring):
    """
    Has each of the pool's `threads` threads fill `step` once, now: a thread's first call into the library makes its
    own state there (once per thread), and which threads the scheduler gives the first real steps to is up to it.
    The tasks meet at a barrier, so each runs on a thread of its own.
    """
    meet = threading.Barrier(threads)

    def first_fill(k):
        meet.wait(timeout=60)
        loader.fill(step, ring[k])

    for done in [pool.submit(first_fill, k) for k in range(threads)]:
        done.result()


def fill_in_order(loader, steps, ring, threads=1):
    """
    Yields `loader.fill(step, ...)` for each step, in order, into the ring's buffers in turn; with threads > 1 the next
    `threads` steps are being decoded meanwhile (the ring needs more buffers than threads: a yielded batch stays valid
    while fewer than len(ring) - threads later ones have been asked for).
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
    """An open store (checked on opening). `store[i]` is the i-th sequence as numpy arrays."""

    def __init__(self, path, *, open_damaged=False):
        handle = ctypes.c_void_p()
        flags = _native.OPEN_DAMAGED if open_damaged else 0
        _native.check(_native.lib().logitstore_store_open(str(path).encode(), flags, ctypes.byref(handle)))
        self._handle, self._pid = handle, os.getpid()
        self.path = str(path)
        self.facts = json.loads(_native.take_bytes(
            lambda data, length: _native.lib().logitstore_store_facts(self._handle, data, length)))
        self.manifest = self.facts["manifest"]
        self.vocab_size = self.facts["vocab_size"]
        self.first_sequence = self.facts["first_sequence"]
        self.sequence_length = self.facts["sequence_length"]
        self.max_entries_per_position = self.facts["max_entries_per_position"]
        self.damage = self.facts["damage"]

    def __len__(self):
        return self.facts["sequence_count"]

    def __getitem__(self, index):
        index = _integer("sequence index", index, -len(self), len(self), IndexError)
        return self.read(self.first_sequence + index % len(self))

    def read(self, sequence):
        """The sequence with global id `sequence` (ids of a part store start at its first_sequence)."""
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

    def _check_process(self):
        if not _native.owned_here(self._pid):
            raise RuntimeError("this store was opened before a fork: open it in the process that reads it")

    def loader(self, batch_size, sequence_length=None, width=None, **options):
        """A `Loader` over this store (sequence_length defaults to the store's)."""
        self._check_process()
        return Loader(self, batch_size, sequence_length or self.sequence_length, width, **options)

    def batches(self, batch_size, sequence_length=None, width=None, *, shuffle=True, seed=1, epoch=0, start_step=0,
                rank=0, world_size=1, threads=1, skip_damaged_blocks=False):
        """
        Yields one epoch's batches (`Batch`, dense [B, T] / [B, T, K] numpy arrays), from `start_step` within it, decoded
        into a ring of threads + 1 reused buffers: a yielded batch stays valid until the next one is asked for.
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

    def _close_native(self, handle):
        _native.lib().logitstore_store_close(handle)
