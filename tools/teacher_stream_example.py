#!/usr/bin/env python3
"""Reference producer of the LogitStore teacher stream protocol (format-spec/stream-protocol.md) through logitstore.stream.

It stands in for a real teacher job (PyTorch, vLLM, ...): random logits over a vocabulary, sent either as
top-k log-probabilities (payload kind 1) or as full logits (kind 2).

    python3 tools/teacher_stream_example.py --sequences 8 --length 64 | ./logitstore pack --from-stream - --out stores/streamed
    python3 tools/teacher_stream_example.py --kind full --vocab 1000 | ./logitstore pack --from-stream - --out stores/full --method top-p-k
    python3 tools/teacher_stream_example.py --socket /tmp/teacher.sock   # after: ./logitstore pack --from-stream unix:/tmp/teacher.sock ...
"""
import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))
from logitstore.stream import Writer, top_k_logprobs  # noqa: E402


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
    rng = np.random.default_rng(args.seed)
    kind = "top-k" if args.kind == "topk" else "logits"
    options = dict(kind=kind, max_entries=args.top_k if kind == "top-k" else None, teacher_id=f"numpy-random(seed={args.seed})")
    writer = Writer.connect(args.socket, args.vocab, **options) if args.socket else Writer.to_stdout(args.vocab, **options)
    with writer:
        for _ in range(args.sequences):
            tokens = rng.integers(0, args.vocab, size=args.length)
            logits = (rng.standard_normal((args.length, args.vocab)) * 3.0).astype(np.float32)
            if kind == "logits":
                writer.write_logits(tokens, logits)
            else:
                writer.write_top_k(tokens, *top_k_logprobs(logits, args.top_k))


if __name__ == "__main__":
    main()
