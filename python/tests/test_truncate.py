"""
logitstore.torch.truncate cuts on the device what the library's LogitsProcessor cuts on the host: a store written from
its top-k lists holds the entries of a store written from the same full logits.
"""

import numpy as np
import pytest
import torch

import logitstore
from logitstore.torch import truncate

VOCAB = 500   # below truncate's 1024 top-p candidates, so that top-p sees the whole vocabulary as the host does


def sequences(count, length, seed, scale=3.0):
    rng = np.random.default_rng(seed)
    return [(rng.integers(0, VOCAB, length), (rng.standard_normal((length, VOCAB)) * scale).astype(np.float32))
            for _ in range(count)]


def decoded(directory):
    with logitstore.Store(directory) as store:
        return [store[i] for i in range(len(store))]


def assert_same_entries(expected, actual):
    assert len(expected) == len(actual)
    for a, b in zip(expected, actual):
        assert np.array_equal(a.tokens, b.tokens)
        assert np.array_equal(a.kept_counts, b.kept_counts)
        assert np.array_equal(a.ids, b.ids)
        np.testing.assert_allclose(a.probs, b.probs, atol=2e-6)
        np.testing.assert_allclose(a.residual, b.residual, atol=1.5 / 65535)   # the residual column is unorm16


CUTS = [
    ("top-k", dict(top_k=12), 1.0),
    ("top-p", dict(top_p=0.8), 1.0),
    ("top-p-k", dict(top_p=0.9, top_k=10), 1.0),
    ("top-k", dict(top_k=12), 2.0),
    ("top-p-k", dict(top_p=0.7, top_k=30), 0.5),
]


@pytest.mark.parametrize("method,parameters,temperature", CUTS)
def test_device_cut_stores_what_the_hosts_processor_stores(tmp_path, method, parameters, temperature):
    data = sequences(4, 32, seed=len(method) + int(temperature * 10))
    codecs = dict(ids="packed", values="f32", workers=1)
    with logitstore.Writer(tmp_path / "host", vocab_size=VOCAB, method=method, temperature=temperature, **parameters,
                           **codecs) as writer:
        for tokens, logits in data:
            writer.write(tokens, logits=logits)
    # τ is applied by the cut: the lists are written at temperature 1, kept whole ("full"), or cut again by the same
    # rule (which keeps them whole: it is idempotent) where the temperature was 1 already.
    again = [("full", {})] + ([(method, parameters)] if temperature == 1.0 else [])
    for written, options in again:
        with logitstore.Writer(tmp_path / written, vocab_size=VOCAB, method=written, **options, **codecs) as writer:
            for tokens, logits in data:
                ids, logprobs, counts = truncate(torch.from_numpy(logits).double(), method=method,
                                                 temperature=temperature, **parameters)
                writer.write(tokens, ids=ids, logprobs=logprobs, counts=counts)
        assert_same_entries(decoded(tmp_path / "host"), decoded(tmp_path / written))


def test_cut_keeps_the_spec_order_on_ties_and_the_whole_nucleus():
    z = torch.tensor([[1.0, 3.0, 3.0, 3.0, 0.0, 3.0], [5.0, 4.0, 3.0, 2.0, 1.0, 0.0]])
    ids, logprobs, counts = truncate(z, method="top-k", top_k=2)
    assert ids.tolist() == [[1, 2], [0, 1]] and counts.tolist() == [2, 2]
    ids, logprobs, counts = truncate(z, method="top-p", top_p=0.5)
    assert counts.tolist() == [3, 1]           # equal quarters: 0, 1/4, 1/2 ranked before; q(5) alone reaches 0.5
    assert ids[0].tolist() == [1, 2, 3] and ids[1, 0] == 0 and logprobs[1, 1] == -np.inf
    np.testing.assert_allclose(logprobs[1, 0], torch.log_softmax(z[1], -1)[0], rtol=1e-6)
    ids, _, counts = truncate(torch.randn(3, 2000), method="top-p", top_p=1.0)
    assert ids.shape == (3, 1024) and counts.tolist() == [1024] * 3


def test_sampled_cut_stores_count_over_draws_and_the_mass_never_drawn(tmp_path):
    logits = torch.randn(6, 16, 200, dtype=torch.float64) * 2
    ids, logprobs, counts = truncate(logits, method="sampled", draws=50, seed=3)
    again = truncate(logits, method="sampled", draws=50, seed=3)
    assert all(torch.equal(a, b) for a, b in zip((ids, logprobs, counts), again))
    assert ids.shape[:2] == (6, 16) and ids.dtype == torch.int32 and counts.max() <= 50
    q = torch.softmax(logits, -1)
    with logitstore.Writer(tmp_path / "sampled", vocab_size=200, method="full", ids="packed", values="f32") as writer:
        for s in range(6):
            writer.write(torch.arange(16) % 200, ids=ids[s], logprobs=logprobs[s], counts=counts[s])
    for s, stored in enumerate(decoded(tmp_path / "sampled")):
        for t in range(16):
            n = int(counts[s, t])
            kept = ids[s, t, :n].long()
            assert len(set(kept.tolist())) == n
            draws = stored.probs[t, :n] * 50
            np.testing.assert_allclose(draws, np.round(draws), atol=1e-3)
            assert np.all(np.diff(np.round(draws)) <= 0)
            drawn_mass = float(q[s, t, kept].sum())
            np.testing.assert_allclose(stored.residual[t], 1 - drawn_mass, atol=1.5 / 65535)


@pytest.mark.parametrize("arguments,error,named", [
    (dict(method="full"), ValueError, "full"),
    (dict(method="top-z", top_k=3), ValueError, "method"),
    (dict(method="top-k"), ValueError, "top_k"),
    (dict(method="top-p"), ValueError, "top_p"),
    (dict(method="top-p", top_p=1.5), ValueError, "top_p"),
    (dict(method="sampled", draws=10), ValueError, "seed"),
    (dict(method="top-k", top_k=3, temperature=0), ValueError, "temperature"),
    (dict(method="top-k", top_k=2.0), TypeError, "top_k"),
])
def test_bad_arguments_are_named(arguments, error, named):
    with pytest.raises(error, match=named):
        truncate(torch.zeros(2, 10), **arguments)
    with pytest.raises(TypeError, match="logits"):
        truncate(np.zeros((2, 10)), method="top-k", top_k=2)
