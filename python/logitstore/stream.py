"""
The producer side of the teacher stream protocol (format-spec/stream-protocol.md): what an external teacher job
writes into `logitstore pack --from-stream`. Arrays may be numpy arrays or torch tensors (any device).
"""

import socket
import struct
import sys
import time

import numpy as np

MAGIC = b"LGSTSTRM"
VERSION = 1          # a stream starting at sequence 0
PART_VERSION = 2     # a part: a stream starting past sequence 0 (stream protocol section 6)
TOP_K_LOGPROBS = 1
FULL_LOGITS = 2
SEQUENCE_FRAME = 1
END_FRAME = 2


def _numpy(array, dtype):
    if hasattr(array, "detach"):  # a torch tensor, on any device
        array = array.detach().to("cpu").numpy()
    return np.ascontiguousarray(np.asarray(array), dtype=dtype)


def top_k_logprobs(logits, k):
    """Ids [T, k] (highest first) and their log-probabilities under the full softmax, from logits [T, V]."""
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
    """
    Writes one stream: the header on creation, a sequence frame per `write_top_k` / `write_logits` call, the end frame
    on `close` (a stream without it is truncated and the pack fails, as the protocol wants of a producer that died).
    `kind` is "top-k" (log-probabilities of up to `max_entries` ids per position) or "logits" (all V of them).
    `first_sequence` > 0 makes the stream a part (protocol version 2): its first frame is that global sequence, and
    the pack must be told which part it is (`pack --part i/N` or `--part auto`).
    """

    def __init__(self, out, vocab_size, *, kind="top-k", max_entries=None, teacher_id="", owns_output=False,
                 first_sequence=0):
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
        self.max_entries = max_entries if kind == "top-k" else 0
        self.sequences = 0
        self._closed = False
        tid = teacher_id.encode("utf-8")
        payload_kind = TOP_K_LOGPROBS if kind == "top-k" else FULL_LOGITS
        version = PART_VERSION if first_sequence else VERSION
        header = struct.pack("<HBBIIQH", version, payload_kind, 0, vocab_size, self.max_entries, first_sequence, len(tid))
        self._out.write(MAGIC + header + tid)

    @classmethod
    def to_stdout(cls, vocab_size, **options):
        return cls(sys.stdout.buffer, vocab_size, **options)

    @classmethod
    def connect(cls, path, vocab_size, *, timeout=10.0, **options):
        """Connects to the Unix socket a `logitstore pack --from-stream unix:PATH` listens on (waiting for it to appear)."""
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

    def _tokens(self, tokens):
        tokens = _numpy(tokens, np.int64).ravel()
        if not 1 <= len(tokens) <= 1 << 20:
            raise ValueError(f"a sequence of {len(tokens)} tokens (1 to 2^20)")
        if tokens.min() < 0 or tokens.max() >= self.vocab_size:
            raise ValueError(f"token ids must lie in [0, {self.vocab_size})")
        return tokens.astype("<u4")

    def _frame(self, parts):
        length = sum(len(p) for p in parts)
        self._out.write(struct.pack("<II", SEQUENCE_FRAME, length))
        for part in parts:
            self._out.write(part)
        self.sequences += 1

    def write_top_k(self, tokens, ids, logprobs, counts=None):
        """
        One sequence: tokens [T]; ids and their log-probabilities [T, n] under the teacher's full distribution at tau 1,
        highest first. `counts` [T] keeps only the first counts[t] entries of position t (else all n).
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

    def write_logits(self, tokens, logits):
        """One sequence: tokens [T] and the teacher's logits [T, V] (kind "logits"); the pack applies its truncation."""
        if self.kind != "logits":
            raise ValueError("this stream carries top-k log-probabilities: use write_top_k")
        tokens = self._tokens(tokens)
        logits = _numpy(logits, "<f4")
        if logits.shape != (len(tokens), self.vocab_size):
            raise ValueError(f"logits must be [T={len(tokens)}, V={self.vocab_size}], got {logits.shape}")
        self._frame([struct.pack("<I", len(tokens)), tokens.tobytes(), logits.tobytes()])

    def close(self):
        """Writes the end frame (the count of sequences sent) and flushes."""
        if self._closed:
            return
        self._closed = True
        self._out.write(struct.pack("<IIQ", END_FRAME, 8, self.sequences))
        self._out.flush()
        if self._owns:
            self._out.close()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        # A producer that failed leaves the stream truncated on purpose: the pack then refuses to complete.
        if exc_type is None:
            self.close()
        elif self._owns:
            self._out.close()
