"""
logitstore.vllm turns vLLM's prompt_logprobs into top-k lists a Writer stores. vLLM is not installed here: a stand-in
builds the structure vLLM documents (vllm/logprobs.py: `Logprob(logprob, rank, decoded_token)`, `PromptLogprobs =
list[dict[int, Logprob] | None]`, and a `RequestOutput` with `prompt_token_ids` and `prompt_logprobs`).
"""

from dataclasses import dataclass
from typing import Optional

import numpy as np
import pytest

import logitstore
from logitstore.vllm import prompt_top_k, write_request_output

VOCAB = 120


@dataclass
class Logprob:
    """vLLM's vllm.logprobs.Logprob."""
    logprob: float
    rank: Optional[int] = None
    decoded_token: Optional[str] = None


@dataclass
class RequestOutput:
    """The two members of vLLM's RequestOutput the converter reads."""
    prompt_token_ids: list
    prompt_logprobs: list


def vllm_output(prompt, k, seed):
    """What vLLM returns for SamplingParams(prompt_logprobs=k): per token i >= 1 its top k and the prompt token itself."""
    rng = np.random.default_rng(seed)
    logprobs, distributions = [None], []
    for i in range(1, len(prompt)):
        logits = rng.standard_normal(VOCAB) * 2.5
        lp = logits - np.log(np.exp(logits).sum())
        order = np.argsort(-lp, kind="stable")
        ranks = np.empty(VOCAB, int)
        ranks[order] = np.arange(1, VOCAB + 1)
        chosen = {int(token) for token in order[:k]} | {int(prompt[i])}
        logprobs.append({token: Logprob(float(lp[token]), int(ranks[token]), f"<{token}>") for token in chosen})
        distributions.append(lp)
    return RequestOutput(list(map(int, prompt)), logprobs), distributions


def test_prompt_logprobs_become_the_positions_of_the_previous_tokens():
    prompt = np.random.default_rng(1).integers(0, VOCAB, 12)
    output, distributions = vllm_output(prompt, 5, seed=2)
    lists = prompt_top_k(output.prompt_token_ids, output.prompt_logprobs)
    assert np.array_equal(lists.tokens, prompt[:-1])
    for t, lp in enumerate(distributions):
        expected = sorted(output.prompt_logprobs[t + 1], key=lambda token: (-lp[token], token))
        n = lists.counts[t]
        assert n == len(expected) and n in (5, 6)                   # the prompt token adds one when it ranks below
        assert lists.ids[t, :n].tolist() == expected
        np.testing.assert_allclose(lists.logprobs[t, :n], lp[expected], rtol=1e-6)
    cut = prompt_top_k(output.prompt_token_ids, output.prompt_logprobs, top_k=5)
    assert cut.counts.tolist() == [5] * 11 and np.array_equal(cut.ids, lists.ids[:, :5])


def test_request_outputs_write_a_store_of_the_kept_distribution(tmp_path):
    rng = np.random.default_rng(3)
    outputs = [vllm_output(rng.integers(0, VOCAB, 9), 6, seed=s) for s in range(3)]
    with logitstore.Writer(tmp_path / "store", vocab_size=VOCAB, method="top-k", top_k=6, ids="packed",
                           values="f32") as writer:
        for output, _ in outputs:
            write_request_output(writer, output)
    with logitstore.Store(tmp_path / "store") as store:
        assert len(store) == 3
        for s, (output, distributions) in enumerate(outputs):
            stored = store[s]
            assert np.array_equal(stored.tokens, output.prompt_token_ids[:-1])
            for t, lp in enumerate(distributions):
                top = np.argsort(-lp, kind="stable")[:6]
                assert stored.ids[t].tolist() == top.tolist()
                q = np.exp(lp[top])
                np.testing.assert_allclose(stored.probs[t], q / q.sum(), atol=2e-6)
                np.testing.assert_allclose(stored.residual[t], 1 - q.sum(), atol=1.5 / 65535)


def test_shapes_vllm_does_not_give_are_refused():
    output, _ = vllm_output([1, 2, 3], 2, seed=4)
    with pytest.raises(ValueError, match="entries for 3 prompt tokens"):
        prompt_top_k(output.prompt_token_ids, output.prompt_logprobs[:2])
    with pytest.raises(ValueError, match="without prompt_logprobs"):
        prompt_top_k([1, 2, 3], [None, None, None])
    with pytest.raises(ValueError, match="at least 2 tokens"):
        prompt_top_k([1], [None])
    minus_infinity = [None, {4: Logprob(-np.inf, 1)}]
    with pytest.raises(ValueError, match="keeps no entry"):
        prompt_top_k([1, 4], minus_infinity)
