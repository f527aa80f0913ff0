#!/usr/bin/env python3
"""
A PyTorch causal LM runs over a JSONL corpus and writes a LogitStore store in this process (`logitstore.Writer`): no
stream, no second process, no CLI.

    python3 tools/hf_checkpoint.py /tmp/tiny --preset tiny-llama            # a tiny random-weight teacher
    PYTHONPATH=python python3 python/examples/teacher_writer.py /tmp/tiny corpus.jsonl stores/tiny \\
        --seq-len 64 --method top-k --top-k 20 [--cut device] [--resume]
    ./logitstore verify stores/tiny && ./logitstore dump stores/tiny --seq 0 | head

CHECKPOINT is a Hugging Face decoder directory (config.json and model.safetensors, Llama, Mistral, Qwen2 or Qwen3
layout), run by the plain-torch forward the test suite checks LogitStore's teacher against (python/tests/
hf_reference.py); a real job would load transformers' AutoModelForCausalLM instead and use its `.logits` the same way.
CORPUS holds one JSON object per line, with `input_ids` (token ids), or `text` (tokenised by the checkpoint's
tokenizer.json, which needs the `tokenizers` package). Documents are joined, each followed by the checkpoint's EOS,
and cut into sequences of --seq-len tokens (a last, shorter piece is left out).

--cut host (the default) hands the logits [T, V] to the writer, which cuts them by the store's method; --cut device
cuts them with `logitstore.torch.truncate` where the model ran and hands over only the kept entries. --resume
finishes a store whose writer stopped: the sequences it holds are written again by their tokens alone, without a
forward pass.
"""
import argparse
import json
import sys
from pathlib import Path

import torch

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parents[1] / "tests")]
import logitstore  # noqa: E402
from logitstore.torch import truncate  # noqa: E402
from hf_reference import HfReference  # noqa: E402


def read_sequences(corpus: Path, checkpoint: Path, eos: int, length: int) -> list:
    """The corpus's documents, each followed by EOS, joined and cut into sequences of `length` token ids."""
    tokenizer = None
    stream = []
    with open(corpus, encoding="utf-8") as lines:
        for line in lines:
            if not line.strip():
                continue
            document = json.loads(line)
            if "input_ids" in document:
                ids = [int(i) for i in document["input_ids"]]
            else:
                if tokenizer is None:
                    from tokenizers import Tokenizer   # only text needs it
                    tokenizer = Tokenizer.from_file(str(checkpoint / "tokenizer.json"))
                ids = tokenizer.encode(document["text"]).ids
            stream += ids + [eos]
    return [stream[i:i + length] for i in range(0, len(stream) - length + 1, length)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--seq-len", type=int, default=64)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--method", default="top-k", choices=["top-k", "top-p", "top-p-k", "sampled"])
    parser.add_argument("--top-k", type=int, default=20)
    parser.add_argument("--top-p", type=float, default=0.95)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--draws", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1, help="sampled: seed of the draws")
    parser.add_argument("--ids", default="packed")
    parser.add_argument("--values", default="q8")
    parser.add_argument("--seqs-per-block", type=int, default=None)
    parser.add_argument("--shard-bytes", type=int, default=None, help="commit a shard once it reaches this size")
    parser.add_argument("--cut", choices=["host", "device"], default="host")
    parser.add_argument("--id-seed", type=int)
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args()

    model = HfReference.load(args.checkpoint)     # float32 on the CPU; a real teacher runs on its GPU
    eos = model.config.get("eos_token_id")
    eos = (eos[0] if isinstance(eos, list) else eos) if eos is not None else model.vocab_size - 1
    sequences = read_sequences(args.corpus, args.checkpoint, eos, args.seq_len)
    needs = {"top-k": ("top_k",), "top-p": ("top_p",), "top-p-k": ("top_p", "top_k"), "sampled": ("draws", "seed")}
    cut = {"method": args.method, **{name: getattr(args, name) for name in needs[args.method]}}
    if args.cut == "device":
        # τ is applied by the device cut, so the writer takes the lists at temperature 1: sampled lists are kept
        # whole ("full"); the cutting methods cut them again, which keeps them as they are.
        settings = {"method": "full"} if args.method == "sampled" else dict(cut)
        settings["temperature"] = 1.0
    else:
        settings = dict(cut, temperature=args.temperature)

    with logitstore.Writer(args.out, vocab_size=model.vocab_size, teacher_id=str(args.checkpoint.resolve()),
                           ids=args.ids, values=args.values, sequences_per_block=args.seqs_per_block,
                           shard_target_bytes=args.shard_bytes, id_seed=args.id_seed, resume=args.resume,
                           overwrite=not args.resume, **settings) as writer:
        start = writer.committed if not writer.already_complete else len(sequences)
        for tokens in sequences[:start]:
            writer.write(tokens)          # held by the store already: checked by its tokens, no forward pass
        for first in range(start, len(sequences), args.batch):
            batch = torch.tensor(sequences[first:first + args.batch])
            logits = model.logits(batch)                                    # [B, T, V]
            if args.cut == "device":
                ids, logprobs, counts = truncate(logits, temperature=args.temperature, **cut)
                for b in range(len(batch)):
                    writer.write(batch[b], ids=ids[b], logprobs=logprobs[b], counts=counts[b])
            else:
                for b in range(len(batch)):
                    writer.write(batch[b], logits=logits[b])
    manifest = json.loads((args.out / "manifest.json").read_text())
    print(f"wrote {manifest['totals']['sequences']} sequences, {manifest['totals']['positions']} tokens, "
          f"{manifest['totals']['bytes'] / max(1, manifest['totals']['positions']):.2f} bytes/token -> {args.out}")


if __name__ == "__main__":
    main()
