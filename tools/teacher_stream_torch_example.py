#!/usr/bin/env python3
"""A real PyTorch teacher streaming into a store: a small byte-level causal transformer (defined here) trained for a
few steps on a text file, then run over that file, its top-k log-probabilities sent through logitstore.stream.Writer.

    python3 tools/teacher_stream_torch_example.py README.md \
        | ./logitstore pack --from-stream - --method top-k --top-k 16 --out stores/bytes
    ./logitstore verify stores/bytes && ./logitstore dump stores/bytes --seq 0 | head
"""
import argparse
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))
from logitstore.stream import Writer, top_k_logprobs  # noqa: E402

VOCAB = 256  # bytes


class ByteTransformer(nn.Module):
    """Token and position embeddings, causal transformer layers, a linear head over the 256 byte values."""

    def __init__(self, length, width=64, layers=2, heads=4):
        super().__init__()
        self.tokens = nn.Embedding(VOCAB, width)
        self.positions = nn.Embedding(length, width)
        layer = nn.TransformerEncoderLayer(width, heads, 4 * width, dropout=0.0, batch_first=True, norm_first=True)
        self.body = nn.TransformerEncoder(layer, layers)
        self.head = nn.Linear(width, VOCAB)
        self.register_buffer("causal", torch.triu(torch.full((length, length), float("-inf")), diagonal=1))

    def forward(self, x):
        t = x.shape[1]
        h = self.tokens(x) + self.positions(torch.arange(t, device=x.device))
        return self.head(self.body(h, mask=self.causal[:t, :t]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("text", help="a text file: the teacher trains on it, then its sequences are streamed")
    ap.add_argument("--length", type=int, default=128, help="bytes per sequence")
    ap.add_argument("--top-k", type=int, default=16)
    ap.add_argument("--train-steps", type=int, default=150)
    ap.add_argument("--max-sequences", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--socket", help="connect to the Unix socket a 'logitstore pack --from-stream unix:PATH' listens on")
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    data = torch.tensor(list(Path(args.text).read_bytes()), dtype=torch.long)
    count = min(args.max_sequences, len(data) // args.length)
    if count == 0:
        sys.exit(f"{args.text} is shorter than one sequence of {args.length} bytes")
    sequences = data[: count * args.length].view(count, args.length)

    model = ByteTransformer(args.length)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for step in range(args.train_steps):
        batch = sequences[torch.randint(0, count, (8,))]
        loss = nn.functional.cross_entropy(model(batch[:, :-1]).reshape(-1, VOCAB), batch[:, 1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    print(f"teacher: {args.train_steps} steps, last loss {loss.item():.3f} nats/byte", file=sys.stderr)

    model.eval()
    options = dict(kind="top-k", max_entries=args.top_k, teacher_id=f"byte-transformer({args.text}, seed={args.seed})")
    writer = Writer.connect(args.socket, VOCAB, **options) if args.socket else Writer.to_stdout(VOCAB, **options)
    with writer, torch.no_grad():
        for start in range(0, count, 16):
            rows = sequences[start:start + 16]
            logits = model(rows)  # position t predicts byte t + 1 from bytes 0..t
            for row, row_logits in zip(rows, logits):
                writer.write_top_k(row, *top_k_logprobs(row_logits, args.top_k))


if __name__ == "__main__":
    main()
