#!/usr/bin/env python3
"""Reference producer of the LogitStore teacher stream protocol (format-spec/stream-protocol.md), numpy only.

It stands in for a real teacher job (PyTorch, vLLM, ...): random logits over a vocabulary, sent either as
top-k log-probabilities (payload kind 1) or as full logits (kind 2).

    python3 tools/teacher_stream_example.py --sequences 8 --length 64 | ./logitstore pack --from-stream - --out stores/streamed
    python3 tools/teacher_stream_example.py --kind full --vocab 1000 | ./logitstore pack --from-stream - --out stores/full --method top-p-k
    python3 tools/teacher_stream_example.py --socket /tmp/teacher.sock   # after: ./logitstore pack --from-stream unix:/tmp/teacher.sock ...
"""
import argparse
import socket
import struct
import sys
import time

import numpy as np


def header(kind: int, vocab: int, max_entries: int, teacher_id: str) -> bytes:
    tid = teacher_id.encode("utf-8")
    return b"LGSTSTRM" + struct.pack("<HBBIIQH", 1, kind, 0, vocab, max_entries, 0, len(tid)) + tid


def frame(frame_type: int, payload: bytes) -> bytes:
    return struct.pack("<II", frame_type, len(payload)) + payload


def sequence_payload(rng, kind: int, vocab: int, length: int, k: int) -> bytes:
    tokens = rng.integers(0, vocab, size=length, dtype=np.uint32)
    parts = [struct.pack("<I", length), tokens.astype("<u4").tobytes()]
    for _ in range(length):
        logits = (rng.standard_normal(vocab) * 3.0).astype(np.float32)
        if kind == 2:
            parts.append(logits.astype("<f4").tobytes())
            continue
        top = np.argpartition(-logits, k - 1)[:k]
        top = top[np.argsort(-logits[top], kind="stable")]
        m = logits.max()
        logz = m + np.log(np.exp(logits - m).sum())
        logprobs = (logits[top] - logz).astype(np.float32)
        parts.append(struct.pack("<H", k) + top.astype("<u4").tobytes() + logprobs.astype("<f4").tobytes())
    return b"".join(parts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kind", choices=["topk", "full"], default="topk")
    ap.add_argument("--vocab", type=int, default=32000)
    ap.add_argument("--top-k", type=int, default=64)
    ap.add_argument("--sequences", type=int, default=8)
    ap.add_argument("--length", type=int, default=128)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--socket", help="connect to the Unix socket a 'logitstore pack --from-stream unix:PATH' listens on")
    args = ap.parse_args()
    kind = 1 if args.kind == "topk" else 2
    rng = np.random.default_rng(args.seed)

    if args.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        for _ in range(100):
            try:
                sock.connect(args.socket)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                time.sleep(0.1)
        out = sock.makefile("wb")
    else:
        out = sys.stdout.buffer

    out.write(header(kind, args.vocab, args.top_k if kind == 1 else 0, f"numpy-random(seed={args.seed})"))
    for _ in range(args.sequences):
        out.write(frame(1, sequence_payload(rng, kind, args.vocab, args.length, args.top_k)))
    out.write(frame(2, struct.pack("<Q", args.sequences)))
    out.flush()


if __name__ == "__main__":
    main()
