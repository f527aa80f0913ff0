"""Trains a small SentencePiece model and encodes texts with it: the reference for the SentencePiece tokenizer tests.

usage: sentencepiece-reference.py <training text> <model folder> <bpe|unigram> <texts.json> <ids.json>
Writes <model folder>/tokenizer.model (Llama-style settings: byte fallback, digits split, no whitespace squeezing,
identity normalisation) and, per text, the ids of sp.encode(text) into ids.json.
"""
import json
import os
import sys

import sentencepiece as spm

corpus, folder, model_type, texts_path, ids_path = sys.argv[1:]
os.makedirs(folder, exist_ok=True)
prefix = os.path.join(folder, "tokenizer")
spm.SentencePieceTrainer.train(
    input=corpus, model_prefix=prefix, model_type=model_type, vocab_size=600, byte_fallback=True,
    split_digits=True, remove_extra_whitespaces=False, normalization_rule_name="identity", character_coverage=0.9995,
    unk_id=0, bos_id=1, eos_id=2, pad_id=-1, num_threads=1, minloglevel=2)
os.replace(prefix + ".model", os.path.join(folder, "tokenizer.model"))
os.remove(prefix + ".vocab")
sp = spm.SentencePieceProcessor(model_file=os.path.join(folder, "tokenizer.model"))
with open(texts_path, encoding="utf-8") as f:
    texts = json.load(f)
with open(ids_path, "w", encoding="utf-8") as f:
    json.dump([sp.encode(t) for t in texts], f)
