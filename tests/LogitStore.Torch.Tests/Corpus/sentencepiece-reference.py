"""Trains a small SentencePiece model and encodes texts with it: the reference for the SentencePiece tokenizer tests.

usage: sentencepiece-reference.py <training text> <model folder> <bpe|unigram> <texts.json> <ids.json>
Writes <model folder>/tokenizer.model (Llama-style settings: byte fallback, digits split, no whitespace squeezing,
identity normalisation) and, per text, into ids.json: {"ids": sp.encode(text), "after_token": ids}, the latter the
text's ids as transformers' LlamaTokenizer gives them with legacy=False to a stretch that follows a special token (its
model loaded without the dummy prefix, a stretch opening with a space encoded behind its unknown token, then cut off).
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
with open(os.path.join(folder, "tokenizer.model"), "rb") as f:
    # ModelProto field 3 (normalizer_spec) merged with NormalizerSpec field 3 (add_dummy_prefix) = false.
    no_prefix = spm.SentencePieceProcessor(model_proto=f.read() + b"\x1a\x02\x18\x00")
unk = sp.id_to_piece(sp.unk_id())
unk_length = len(no_prefix.encode(unk))


def after_token(text):
    if not text.startswith(("\u2581", " ")):
        return no_prefix.encode(text)
    return no_prefix.encode(unk + text)[unk_length:]


with open(texts_path, encoding="utf-8") as f:
    texts = json.load(f)
with open(ids_path, "w", encoding="utf-8") as f:
    json.dump([{"ids": sp.encode(t), "after_token": after_token(t)} for t in texts], f)
