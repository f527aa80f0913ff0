"""
Writing a store from this process: `Writer` hands each sequence's logits, or its top-k lists, to liblogitstore, which
cuts, encodes and commits them exactly as `logitstore pack --from-stream` does with the same records (docs/native-abi.md,
"Writing"; format-spec 2.0.3).
"""

from __future__ import annotations

import ctypes
import json
import math
import numbers
import os
import threading
from pathlib import Path
from typing import Any, Optional, Tuple, Union

import numpy as np

from . import _native

METHODS = ("top-k", "top-p", "top-p-k", "sampled", "full")

# Bounds the library enforces too; checked here first so that the error names the keyword argument.
_MAX_U16 = 65535
_MAX_MVQ_BEAM = 64
_ZSTD_LEVELS = (-7, 22)
_MIN_SHARD_BYTES = 4096

PathLike = Union[str, "os.PathLike[str]"]


def _integer(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, not {type(value).__name__}")
    if not low <= int(value) <= high:
        raise ValueError(f"{name} must be in [{low}, {high}], got {value}")
    return int(value)


def _real(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, not {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def _text(name: str, value: Any) -> bytes:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, not {type(value).__name__}")
    return value.encode("utf-8")


def _host_array(value: Any, name: str, floating: bool) -> np.ndarray:
    """
    `value` (a numpy array, a torch tensor on any device, or nested sequences) as a C-contiguous numpy array on the
    host: float32 when `floating`, else the integer dtype it has (checked and narrowed by the caller).

    Raises:
        TypeError: `value` is not an array of numbers of the right kind, naming `name`.
    """
    if hasattr(value, "detach") and hasattr(value, "device"):   # a torch tensor
        value = value.detach()
        if value.device.type != "cpu":
            value = value.to("cpu")
        if floating and not value.is_floating_point():
            raise TypeError(f"{name} must hold floating-point values, not {value.dtype}")
        value = value.float() if floating else value
        value = value.numpy()
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be an array: {error}") from None
    if floating:
        if array.dtype.kind != "f":
            raise TypeError(f"{name} must hold floating-point values, not {array.dtype}")
        return np.ascontiguousarray(array, dtype=np.float32)
    if array.dtype.kind not in "iu" and array.size:   # an empty list reads as float64
        raise TypeError(f"{name} must hold integers, not {array.dtype}")
    return np.ascontiguousarray(array, dtype=array.dtype if array.size else np.int64)


def _ids(value: Any, name: str, shape_rank: int, low: int, high: int) -> np.ndarray:
    """Integers in [low, high) as int32, checked before they are narrowed (a wide id must not wrap into range)."""
    array = _host_array(value, name, floating=False)
    if array.ndim != shape_rank:
        raise ValueError(f"{name} must have {shape_rank} dimension(s), got shape {array.shape}")
    if array.size and (int(array.min()) < low or int(array.max()) >= high):
        raise ValueError(f"{name} must lie in [{low}, {high}), got values from {array.min()} to {array.max()}")
    return np.ascontiguousarray(array, dtype=np.int32)


def _pointer(array: Optional[np.ndarray]) -> Optional[int]:
    return None if array is None else array.ctypes.data


class Writer:
    """
    Writes a store in this process: the pack `logitstore pack --from-stream` runs, fed by `write` calls instead of a
    stream. Each sequence is copied and checked when it is written (a refused one raises and changes nothing), cut by
    the store's processing and encoded on the library's threads; `commit` completes the store. A writer that is not
    committed (an exception inside its `with` block, `abort`, a killed process) leaves the shards it committed, and a
    `Writer(..., resume=True)` with the same settings finishes the store: write every sequence again from the first,
    the `committed` ones needing their tokens only.

    With the same sequences, settings and `id_seed`, the store equals `pack --from-stream --id-seed`'s byte for byte,
    except the manifest's `source` (`{"kind": "writer"}`).

        with logitstore.Writer("out/store", vocab_size=V, method="top-k", top_k=20, id_seed=1) as writer:
            for tokens, logits in batches:
                writer.write(tokens, logits=logits)            # [T] and [T, V]
    """

    def __init__(self, out: PathLike, *, vocab_size: int, teacher_id: str = "", method: Optional[str] = None,
                 top_k: Optional[int] = None, top_p: Optional[float] = None, temperature: Optional[float] = None,
                 draws: Optional[int] = None, seed: Optional[int] = None, ids: Optional[str] = None,
                 values: Optional[str] = None, tokens_codec: Optional[str] = None,
                 value_log_range: Optional[float] = None, mvq_beam: Optional[int] = None,
                 dictionary_sample: Optional[int] = None, zstd_level: Optional[int] = None,
                 sequences_per_block: Optional[int] = None, shard_target_bytes: Optional[int] = None,
                 part: Optional[Tuple[int, int]] = None, first_sequence: int = 0, resume: bool = False,
                 id_seed: Optional[int] = None, overwrite: bool = False, workers: int = 0) -> None:
        """
        Opens a new store at `out` (or, with `resume`, the partial store there). Every argument is checked before
        anything is written: a refused one leaves no file behind. Settings left as None take the library's defaults,
        those of `logitstore pack` (top-p-k with p = 0.95 and k = 50 at temperature 1, context ids, mvq:4 values).

        Args:
            out: the store's directory.
            vocab_size: V; token ids and kept ids lie in [0, V).
            teacher_id: recorded as the manifest's `teacher.id` (a stream's `teacher_id`).
            method: "top-k", "top-p", "top-p-k", "sampled" or "full" (format-spec section 6).
            top_k: entries kept by top-k and top-p-k, 1 to 65535.
            top_p: nucleus mass of top-p and top-p-k, in (0, 1].
            temperature: τ > 0; logits are divided by it. Top-k lists (`write(ids=…)`) need 1.
            draws: sampled: draws per position, 1 to 65535.
            seed: sampled: seed of the draws.
            ids: the ids codec ("context", "ranked", "packed", "delta", "u32").
            values: the values codec ("mvq:M", "q8", "q4", "f16", "f32", "counts").
            tokens_codec: the tokens codec ("packed", "u32").
            value_log_range: q8/q4: R in nats (0: the codec's default).
            mvq_beam: mvq: beam width of the encoder, 1 to 64.
            dictionary_sample: positions collected to train the dictionaries.
            zstd_level: zstd level per column, -7 to 22 (0 stores columns uncompressed).
            sequences_per_block: sequences per block.
            shard_target_bytes: a shard is committed once it reaches this size (at least 4096).
            part: (i, n): this store is part i of n of a partitioned pack, starting at `first_sequence`.
            first_sequence: a part's first global sequence id: a multiple of sequences_per_block, 0 only for part 0.
            resume: finish the partial store at `out` (its settings must be these); start one where none is.
            id_seed: derive store_id and pack_id from this seed (same inputs, same bytes); None draws them.
            overwrite: replace a store at `out` instead of refusing.
            workers: encoding threads; 0 takes every core.

        Raises:
            TypeError: an argument of the wrong type, named.
            ValueError: an argument out of range, or settings the library refuses (named), or with `resume` settings
                that differ from the store's (each named).
            OSError: `out` holds a store (and neither `resume` nor `overwrite`), or cannot be written.
        """
        if not isinstance(out, (str, os.PathLike)):
            raise TypeError(f"out must be a path, not {type(out).__name__}")
        for name, flag in (("resume", resume), ("overwrite", overwrite)):
            if not isinstance(flag, bool):
                raise TypeError(f"{name} must be True or False, not {type(flag).__name__}")
        if resume and overwrite:
            raise ValueError("resume finishes the store at out and overwrite replaces it: give one of them")
        self.path = Path(out)
        self.vocab_size = _integer("vocab_size", vocab_size, 2, 2**32 - 1)
        options = _native.WriterOptions()
        library = _native.lib()
        _native.check(library.logitstore_writer_options_default(ctypes.byref(options)))
        options.vocab_size = self.vocab_size
        options.teacher_id = _text("teacher_id", teacher_id)
        if method is not None:
            if method not in METHODS:
                raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
            options.method = method.encode()
        if top_k is not None:
            options.top_k = _integer("top_k", top_k, 1, _MAX_U16)
        if top_p is not None:
            options.top_p = _real("top_p", top_p)
            if not 0 < options.top_p <= 1:
                raise ValueError(f"top_p must be in (0, 1], got {top_p}")
        if temperature is not None:
            options.temperature = _real("temperature", temperature)
            if not options.temperature > 0:
                raise ValueError(f"temperature must be > 0, got {temperature}")
        if draws is not None:
            options.draws = _integer("draws", draws, 1, _MAX_U16)
        if seed is not None:
            options.seed = _integer("seed", seed, 0, 2**64 - 1)
        for name, value in (("ids", ids), ("values", values), ("tokens_codec", tokens_codec)):
            if value is not None:
                setattr(options, name, _text(name, value))
        if value_log_range is not None:
            options.value_log_range = _real("value_log_range", value_log_range)
            if options.value_log_range < 0:
                raise ValueError(f"value_log_range must be >= 0 (0: the codec's default), got {value_log_range}")
        if mvq_beam is not None:
            options.mvq_beam = _integer("mvq_beam", mvq_beam, 1, _MAX_MVQ_BEAM)
        if dictionary_sample is not None:
            options.dictionary_sample = _integer("dictionary_sample", dictionary_sample, 1, 2**31 - 1)
        if zstd_level is not None:
            options.zstd_level = _integer("zstd_level", zstd_level, *_ZSTD_LEVELS)
        if sequences_per_block is not None:
            options.sequences_per_block = _integer("sequences_per_block", sequences_per_block, 1, 2**31 - 1)
        if shard_target_bytes is not None:
            options.shard_target_bytes = _integer("shard_target_bytes", shard_target_bytes, _MIN_SHARD_BYTES, 2**63 - 1)
        if part is not None:
            if not isinstance(part, (tuple, list)) or len(part) != 2:
                raise TypeError(f"part must be a pair (i, n), not {part!r}")
            count = _integer("part", part[1], 1, 2**31 - 1)
            options.part_index, options.part_count = _integer("part", part[0], 0, count - 1), count
        options.first_sequence = _integer("first_sequence", first_sequence, 0, 2**63 - 1)
        if id_seed is not None:
            options.id_seed = _integer("id_seed", id_seed, 0, 2**64 - 1)
            options.flags |= _native.WRITER_ID_SEED
        if overwrite:
            options.flags |= _native.WRITER_OVERWRITE
        options.workers = _integer("workers", workers, 0, 2**31 - 1)

        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._handle = ctypes.c_void_p()
        self._committed_manifest: Optional[dict] = None
        open_writer = library.logitstore_writer_resume if resume else library.logitstore_writer_create
        _native.check(open_writer(os.fsencode(self.path), ctypes.byref(options), ctypes.byref(self._handle)))
        committed, received, complete = ctypes.c_uint64(), ctypes.c_uint64(), ctypes.c_int32()
        _native.check(library.logitstore_writer_state(self._handle, ctypes.byref(committed), ctypes.byref(received),
                                                      ctypes.byref(complete)))
        self.committed: int = committed.value
        """Sequences the store held when the writer opened it: write them again first (their tokens suffice)."""
        self.already_complete: bool = bool(complete.value)
        """A resume found the store complete: writes are checked against its count and dropped."""
        self.written: int = received.value
        """Sequences written so far, the ones the store already held included."""

    @property
    def resending(self) -> bool:
        """Whether the next `write` is a sequence the store already holds (its tokens alone are read)."""
        return self.written < self.committed or self.already_complete

    def _open_handle(self) -> ctypes.c_void_p:
        if not self._handle:
            raise ValueError("the writer is closed")
        if not _native.owned_here(self._pid):
            raise _native.LogitStoreError("a writer belongs to the process that opened it (this one was forked after)")
        return self._handle

    def write(self, tokens: Any, logits: Any = None, *, ids: Any = None, logprobs: Any = None,
              counts: Any = None) -> None:
        """
        Writes one sequence: its input tokens and, per position, the teacher's distribution over the next token, given
        either as full logits, cut here by the store's processing, or as top-k lists already cut (what a
        `logitstore.stream` top-k record carries, and `logitstore.torch.truncate` returns). Arrays may be numpy arrays
        or torch tensors on any device (a CUDA tensor is copied to the host).

        Args:
            tokens: [T] token ids, T from 1 to 2^20.
            logits: [T, V] logits (any float dtype; taken as float32).
            ids: [T, K] ids, each position's distinct and highest first.
            logprobs: [T, K] their log-probabilities under the teacher's full distribution at temperature 1.
            counts: [T] entries used per position, 1 to K (position t carries ids[t, :counts[t]]); None: K everywhere.

        Raises:
            TypeError: no payload or both, or arrays of the wrong kind, named.
            ValueError: shapes or values the store cannot take (ids out of range or repeated, values not finite,
                log-probabilities above 0 or a mass above 1, top-k lists with a temperature other than 1), named
                with the position at fault; or settings of a resume whose resent tokens are not the store's.
        """
        with self._lock:
            handle = self._open_handle()
            token_array = _ids(tokens, "tokens", 1, 0, self.vocab_size)
            t = len(token_array)
            if not 1 <= t <= 1 << 20:
                raise ValueError(f"tokens: a sequence has 1 to 2^20 tokens, got {t}")
            top_k = ids is not None or logprobs is not None or counts is not None
            if logits is not None and top_k:
                raise TypeError("write takes logits=… or ids=… with logprobs=…, not both")
            library = _native.lib()
            if logits is not None:
                values = _host_array(logits, "logits", floating=True)
                if values.shape != (t, self.vocab_size):
                    raise ValueError(f"logits must be [T={t}, V={self.vocab_size}], got {tuple(values.shape)}")
                _native.check(library.logitstore_writer_append_logits(
                    handle, token_array.ctypes.data, t, values.ctypes.data, values.size))
            elif top_k:
                if ids is None or logprobs is None:
                    raise TypeError("top-k lists take both ids=… and logprobs=…")
                id_array = _ids(ids, "ids", 2, 0, self.vocab_size)
                lp_array = _host_array(logprobs, "logprobs", floating=True)
                if id_array.shape[0] != t or lp_array.shape != id_array.shape or id_array.shape[1] < 1:
                    raise ValueError(f"ids and logprobs must both be [T={t}, K >= 1], got {tuple(id_array.shape)} "
                                     f"and {tuple(lp_array.shape)}")
                k = id_array.shape[1]
                count_array = None if counts is None else _ids(counts, "counts", 1, 1, k + 1)
                if count_array is not None and len(count_array) != t:
                    raise ValueError(f"counts must be [T={t}], got {tuple(count_array.shape)}")
                _native.check(library.logitstore_writer_append_top_k(
                    handle, token_array.ctypes.data, t, id_array.ctypes.data, lp_array.ctypes.data, k,
                    _pointer(count_array)))
            else:
                if not self.resending:
                    raise TypeError("write needs logits=… or ids=… with logprobs=… (tokens alone only for a sequence the "
                                    "store already holds; see committed)")
                _native.check(library.logitstore_writer_append_logits(handle, token_array.ctypes.data, t, None, 0))
            self.written += 1

    def commit(self) -> dict:
        """
        Writes what is pending, commits the last shard and marks the store complete.

        Returns:
            The store's manifest.

        Raises:
            ValueError: a part that does not hold whole blocks (unless it is the last), or a resume that resent fewer
                sequences than the store holds; the writer stays open.
        """
        with self._lock:
            if self._committed_manifest is None:
                _native.check(_native.lib().logitstore_writer_commit(self._open_handle()))
                self._committed_manifest = json.loads((self.path / "manifest.json").read_text(encoding="utf-8"))
            return self._committed_manifest

    def abort(self) -> None:
        """Stops without completing: the store keeps the shards it committed, as after a crash (see `resume`)."""
        self.close()

    def close(self) -> None:
        """Releases the writer; one that was not committed is aborted."""
        with self._lock:
            if self._handle and _native.owned_here(self._pid):
                _native.lib().logitstore_writer_close(self._handle)
            self._handle = ctypes.c_void_p()

    def __enter__(self) -> "Writer":
        return self

    def __exit__(self, exc_type: Optional[type], exc: Optional[BaseException], tb: Any) -> None:
        """Commits on a clean exit (unless the block closed or aborted the writer); aborts when the block raised."""
        try:
            if exc_type is None and self._handle:
                self.commit()
        finally:
            self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
