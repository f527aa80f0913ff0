"""The producer side of the teacher stream protocol (format-spec/stream-protocol.md).

What an external teacher job writes into `logitstore pack --from-stream`. Arrays may be numpy arrays or torch tensors
(any device).
"""

from __future__ import annotations

import socket
import struct
import sys
import time
from types import TracebackType
from typing import Any, BinaryIO

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .store import StrPath

MAGIC = b"LGSTSTRM"
VERSION = 1          # a stream starting at sequence 0
PART_VERSION = 2     # a part: a stream starting past sequence 0 (stream protocol section 6)
TOP_K_LOGPROBS = 1
FULL_LOGITS = 2
SEQUENCE_FRAME = 1
END_FRAME = 2


def _numpy(array: Any, dtype: Any) -> NDArray[Any]:
    if hasattr(array, "detach"):  # a torch tensor, on any device
        array = array.detach().to("cpu").numpy()
    return np.ascontiguousarray(np.asarray(array), dtype=dtype)


def top_k_logprobs(logits: Any, k: int) -> tuple[NDArray[Any], NDArray[np.float32]]:
    """The k most likely ids of each position and their log-probabilities under the full softmax.

    Args:
        logits: Logits [T, V], a numpy array or a torch tensor (any device).
        k: How many ids to keep per position.

    Returns:
        (ids [T, k], highest first; their log-probabilities [T, k], float32), as numpy arrays.
    """
    if hasattr(logits, "detach"):
        import torch

        logprobs = torch.log_softmax(logits.detach().float(), dim=-1)
        values, ids = torch.topk(logprobs, k, dim=-1)
        return ids.cpu().numpy(), values.cpu().numpy()
    logits = np.asarray(logits, np.float64)
    top = np.argpartition(-logits, k - 1, axis=-1)[:, :k]
    top = np.take_along_axis(top, np.argsort(-np.take_along_axis(logits, top, -1), axis=-1, kind="stable"), -1)
    m = logits.max(-1, keepdims=True)
    logz = m + np.log(np.exp(logits - m).sum(-1, keepdims=True))
    return top, (np.take_along_axis(logits, top, -1) - logz).astype(np.float32)


class Writer:
    """Writes one teacher stream.

    The header goes out on creation, a sequence frame per `write_top_k` / `write_logits` call, the end frame on
    `close` (a stream without it is truncated and the pack fails, as the protocol wants of a producer that died).
    As a context manager it closes on a clean exit and leaves the stream truncated when the block raised.

    Attributes:
        vocab_size: V, the teacher's vocabulary size.
        kind: "top-k" or "logits".
        max_entries: The most entries per position a top-k stream carries (0 for logits).
        sequences: How many sequences have been written.
    """

    def __init__(self, out: BinaryIO, vocab_size: int, *, kind: str = "top-k", max_entries: int | None = None,
                 teacher_id: str = "", owns_output: bool = False, first_sequence: int = 0) -> None:
        """Writes the stream's header.

        Args:
            out: Where the stream goes (a binary file, pipe or socket file).
            vocab_size: V, the teacher's vocabulary size (at least 2).
            kind: "top-k" (log-probabilities of up to `max_entries` ids per position) or "logits" (all V of them).
            max_entries: The most entries per position of a top-k stream, in [1, min(V, 65535)].
            teacher_id: Names the teacher in the stream's header.
            owns_output: Whether `close` closes `out` too.
            first_sequence: The global id of the first sequence; above 0 the stream is a part (protocol version 2),
                and the pack must be told which part it is (`pack --part i/N` or `--part auto`).

        Raises:
            ValueError: An argument is out of range.
        """
        if kind not in ("top-k", "logits"):
            raise ValueError(f"kind {kind!r}: 'top-k' or 'logits'")
        if kind == "top-k" and not (max_entries and 1 <= max_entries <= min(vocab_size, 65535)):
            raise ValueError(f"top-k streams need 1 <= max_entries <= min(V, 65535), got {max_entries}")
        if vocab_size < 2:
            raise ValueError("vocab_size must be >= 2")
        if not 0 <= first_sequence < 2**63:
            raise ValueError(f"first_sequence must be in [0, 2^63), got {first_sequence}")
        self._out, self._owns = out, owns_output
        self.vocab_size, self.kind = vocab_size, kind
        self.max_entries = max_entries if kind == "top-k" and max_entries else 0
        self.sequences = 0
        self._closed = False
        tid = teacher_id.encode("utf-8")
        payload_kind = TOP_K_LOGPROBS if kind == "top-k" else FULL_LOGITS
        version = PART_VERSION if first_sequence else VERSION
        header = struct.pack("<HBBIIQH", version, payload_kind, 0, vocab_size, self.max_entries, first_sequence, len(tid))
        self._out.write(MAGIC + header + tid)

    @classmethod
    def to_stdout(cls, vocab_size: int, **options: Any) -> Writer:
        """A writer to standard output, for `python teacher.py | logitstore pack --from-stream -`.

        Args:
            vocab_size: V, the teacher's vocabulary size.
            **options: The other `Writer` keyword arguments.
        """
        return cls(sys.stdout.buffer, vocab_size, **options)

    @classmethod
    def connect(cls, path: StrPath, vocab_size: int, *, timeout: float = 10.0, **options: Any) -> Writer:
        """A writer to the Unix socket a `logitstore pack --from-stream unix:PATH` listens on.

        Args:
            path: The socket's path.
            vocab_size: V, the teacher's vocabulary size.
            timeout: Seconds to wait for the socket to appear and accept.
            **options: The other `Writer` keyword arguments.

        Raises:
            FileNotFoundError: No socket appeared at the path in time.
            ConnectionRefusedError: The socket refused the connection until the time ran out.
        """
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        deadline = time.monotonic() + timeout
        while True:
            try:
                sock.connect(str(path))
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        return cls(sock.makefile("wb"), vocab_size, owns_output=True, **options)

    def _tokens(self, tokens: Any) -> NDArray[Any]:
        tokens = _numpy(tokens, np.int64).ravel()
        if not 1 <= len(tokens) <= 1 << 20:
            raise ValueError(f"a sequence of {len(tokens)} tokens (1 to 2^20)")
        if tokens.min() < 0 or tokens.max() >= self.vocab_size:
            raise ValueError(f"token ids must lie in [0, {self.vocab_size})")
        return tokens.astype("<u4")

    def _frame(self, parts: list[bytes]) -> None:
        length = sum(len(p) for p in parts)
        self._out.write(struct.pack("<II", SEQUENCE_FRAME, length))
        for part in parts:
            self._out.write(part)
        self.sequences += 1

    def write_top_k(self, tokens: ArrayLike, ids: ArrayLike, logprobs: ArrayLike, counts: ArrayLike | None = None) -> None:
        """Writes one sequence of a top-k stream.

        Args:
            tokens: Its tokens [T], each in [0, V).
            ids: The ids kept at each position [T, n], highest probability first.
            logprobs: Their log-probabilities [T, n] under the teacher's full distribution at temperature 1.
            counts: Keeps only the first counts[t] entries of position t [T]; all n when None.

        Raises:
            ValueError: The stream carries logits, or a shape or value is out of range.
        """
        if self.kind != "top-k":
            raise ValueError("this stream carries full logits: use write_logits")
        tokens = self._tokens(tokens)
        ids, logprobs = _numpy(ids, "<u4"), _numpy(logprobs, "<f4")
        t = len(tokens)
        if ids.ndim != 2 or ids.shape != logprobs.shape or ids.shape[0] != t:
            raise ValueError(f"ids and logprobs must both be [T={t}, n], got {ids.shape} and {logprobs.shape}")
        n = ids.shape[1]
        if not 1 <= n <= self.max_entries:
            raise ValueError(f"{n} entries per position; this stream allows 1 to {self.max_entries}")
        if ids.max() >= self.vocab_size:
            raise ValueError(f"ids must lie in [0, {self.vocab_size})")
        if counts is None:
            records = np.empty(t, np.dtype([("n", "<u2"), ("ids", "<u4", (n,)), ("logprobs", "<f4", (n,))]))
            records["n"], records["ids"], records["logprobs"] = n, ids, logprobs
            self._frame([struct.pack("<I", t), tokens.tobytes(), records.tobytes()])
            return
        counts = _numpy(counts, np.int64).ravel()
        if len(counts) != t or counts.min() < 1 or counts.max() > n:
            raise ValueError(f"counts must be [T={t}] values in [1, {n}]")
        parts = [struct.pack("<I", t), tokens.tobytes()]
        for p in range(t):
            c = int(counts[p])
            parts += [struct.pack("<H", c), ids[p, :c].tobytes(), logprobs[p, :c].tobytes()]
        self._frame(parts)

    def write_logits(self, tokens: ArrayLike, logits: ArrayLike) -> None:
        """Writes one sequence of a logits stream; the pack applies its truncation.

        Args:
            tokens: Its tokens [T], each in [0, V).
            logits: The teacher's logits [T, V].

        Raises:
            ValueError: The stream carries top-k log-probabilities, or a shape or value is out of range.
        """
        if self.kind != "logits":
            raise ValueError("this stream carries top-k log-probabilities: use write_top_k")
        tokens = self._tokens(tokens)
        logits = _numpy(logits, "<f4")
        if logits.shape != (len(tokens), self.vocab_size):
            raise ValueError(f"logits must be [T={len(tokens)}, V={self.vocab_size}], got {logits.shape}")
        self._frame([struct.pack("<I", len(tokens)), tokens.tobytes(), logits.tobytes()])

    def close(self) -> None:
        """Writes the end frame (the count of sequences sent) and flushes; later calls do nothing."""
        if self._closed:
            return
        self._closed = True
        self._out.write(struct.pack("<IIQ", END_FRAME, 8, self.sequences))
        self._out.flush()
        if self._owns:
            self._out.close()

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        # A producer that failed leaves the stream truncated on purpose: the pack then refuses to complete.
        if exc_type is None:
            self.close()
        elif self._owns:
            self._out.close()
