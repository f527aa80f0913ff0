"""
vLLM's prompt log-probabilities as top-k lists for `logitstore.Writer`: a vLLM job scores a corpus with
`SamplingParams(prompt_logprobs=k)` and writes each request's output into a store, without a stream or a second
process. Needs no vLLM import: it reads the documented shapes of vLLM's outputs (vllm/logprobs.py):

* `RequestOutput.prompt_token_ids`: the prompt's N token ids;
* `RequestOutput.prompt_logprobs`: N entries (a list, or a `FlatLogprobs` that indexes like one): None for the first
  token, which nothing predicts, then for token i ≥ 1 a mapping token id → `Logprob` over the next-token distribution
  after tokens 0 … i−1: the k most probable ids and prompt token i itself (which may rank below them), where `Logprob`
  has `.logprob` (float, the log-probability), `.rank` (int ≥ 1, or None) and `.decoded_token` (str or None).

A store's position t holds input token t and the distribution of the token after it, so prompt_logprobs[t + 1]
becomes position t: a prompt of N tokens gives a sequence of N − 1 positions (its last token predicts nothing here).
vLLM's log-probabilities are log-softmax of the model's logits, temperature 1 (its default `logprobs_mode`), which is
what `Writer.write(ids=…, logprobs=…)` takes: write them with a writer at temperature 1 whose method is "full" (keep
every entry given) or "top-k" / "top-p-k" with k at most vLLM's.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, NamedTuple, Optional, Sequence

import numpy as np


class PromptTopK(NamedTuple):
    """One sequence as `Writer.write(tokens, ids=…, logprobs=…, counts=…)` takes it."""

    tokens: np.ndarray
    """[T] int32 input tokens."""
    ids: np.ndarray
    """[T, K] int32 ids per position, highest first (padding past counts: id 0)."""
    logprobs: np.ndarray
    """[T, K] float32 log-probabilities (padding: −inf)."""
    counts: np.ndarray
    """[T] int32 entries per position."""


def prompt_top_k(prompt_token_ids: Sequence[int], prompt_logprobs: Sequence[Optional[Mapping[int, Any]]], *,
                 top_k: Optional[int] = None) -> PromptTopK:
    """
    The top-k lists of one prompt's log-probabilities (see the module's notes on vLLM's shapes).

    Args:
        prompt_token_ids: the prompt's N ≥ 2 token ids (`RequestOutput.prompt_token_ids`).
        prompt_logprobs: N entries (`RequestOutput.prompt_logprobs`): None first, then token id → `Logprob` (anything
            with `.logprob`, or a plain float).
        top_k: keep only the entries ranked 1 … top_k (drops the prompt token where it ranks below them); None keeps
            every entry given. Entries without a rank are kept.

    Returns:
        The sequence's N − 1 positions: entries ordered by log-probability descending, ties by ascending id; entries
        of probability 0 (log-probability −inf) left out.

    Raises:
        ValueError: lengths that disagree, a prompt of fewer than 2 tokens, a position without log-probabilities (a
            request made without prompt_logprobs), or a NaN log-probability.
    """
    tokens = np.asarray(prompt_token_ids, dtype=np.int64)
    if tokens.ndim != 1 or len(tokens) < 2:
        raise ValueError(f"prompt_token_ids: a prompt of at least 2 tokens, got {len(tokens)}")
    if len(prompt_logprobs) != len(tokens):
        raise ValueError(f"prompt_logprobs has {len(prompt_logprobs)} entries for {len(tokens)} prompt tokens")
    if top_k is not None and top_k < 1:
        raise ValueError(f"top_k must be >= 1, got {top_k}")
    rows = []
    for i in range(1, len(tokens)):
        entries = prompt_logprobs[i]
        if entries is None:
            raise ValueError(f"prompt_logprobs[{i}] is None: the request was made without prompt_logprobs")
        row = []
        for token_id, value in entries.items():
            logprob = float(getattr(value, "logprob", value))
            rank = getattr(value, "rank", None)
            if math.isnan(logprob):
                raise ValueError(f"prompt_logprobs[{i}][{token_id}]: log-probability NaN")
            if logprob == -math.inf or (top_k is not None and rank is not None and rank > top_k):
                continue
            row.append((-logprob, int(token_id)))
        if not row:
            raise ValueError(f"prompt_logprobs[{i}] keeps no entry")
        row.sort()
        rows.append(row)
    width = max(len(row) for row in rows)
    ids = np.zeros((len(rows), width), np.int32)
    logprobs = np.full((len(rows), width), -np.inf, np.float32)
    for t, row in enumerate(rows):
        ids[t, :len(row)] = [token_id for _, token_id in row]
        logprobs[t, :len(row)] = [-negative for negative, _ in row]
    counts = np.array([len(row) for row in rows], np.int32)
    return PromptTopK(tokens[:-1].astype(np.int32), ids, logprobs, counts)


def write_request_output(writer, output: Any, *, top_k: Optional[int] = None) -> None:
    """
    Writes one vLLM `RequestOutput` (its `prompt_token_ids` and `prompt_logprobs`) as one sequence of `writer`.

    Args:
        writer: a `logitstore.Writer` at temperature 1.
        output: a `RequestOutput`, or anything with those two attributes.
        top_k: as in `prompt_top_k`.
    """
    lists = prompt_top_k(output.prompt_token_ids, output.prompt_logprobs, top_k=top_k)
    writer.write(lists.tokens, ids=lists.ids, logprobs=lists.logprobs, counts=lists.counts)
