"""
Logits processing on the device with torch ops (format-spec section 6), as LogitStore's teacher pass does it
(src/LogitStore.Torch/Teacher/DeviceLogitsProcessor.cs): only the kept entries cross to the host, as top-k lists that
`logitstore.Writer.write(tokens, ids=…, logprobs=…, counts=…)` takes.
"""

from __future__ import annotations

import math
import numbers
from typing import Optional, Tuple

import torch

METHODS = ("top-k", "top-p", "top-p-k", "sampled")

TOP_P_CANDIDATES = 1024
"""Candidates a top-p cut examines when no k caps it (DeviceLogitsProcessor.TopPCandidates)."""


def _rank_order(values: torch.Tensor, ids: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Rows of candidates in the spec's rank order: value descending, ties by ascending id."""
    by_id = torch.argsort(ids, dim=-1)
    values, ids = values.gather(-1, by_id), ids.gather(-1, by_id)
    by_value = torch.sort(values, dim=-1, descending=True, stable=True).indices
    return values.gather(-1, by_value), ids.gather(-1, by_value)


def _top(z: torch.Tensor, k: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """
    The k largest entries of each row in rank order. torch.topk may take any of the entries tied with the k-th value;
    the spec takes the lowest ids among them, so rows with such a tie have their selection redone.
    """
    top, ids = torch.topk(z, k, dim=-1)
    if k < z.shape[-1]:
        threshold = top[:, -1:]
        above = (z > threshold).sum(dim=-1, keepdim=True)
        tied = z == threshold
        ambiguous = (above + tied.sum(dim=-1, keepdim=True) > k).squeeze(-1)
        if bool(ambiguous.any()):
            rows = ambiguous.nonzero().squeeze(-1)
            first_tied = tied[rows] & (tied[rows].int().cumsum(dim=-1) <= k - above[rows])
            chosen = (z[rows] > threshold[rows]) | first_tied
            ids[rows] = chosen.nonzero()[:, 1].view(-1, k)
            top[rows] = z[rows].gather(1, ids[rows])
    return _rank_order(top, ids)


def _kept_only(ids: torch.Tensor, logprobs: torch.Tensor, counts: torch.Tensor
               ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Cuts the rows to the widest kept count, pads past each row's count (id 0, log-prob −inf), copies to the host."""
    width = int(counts.max())
    ids, logprobs = ids[:, :width], logprobs[:, :width]
    padding = torch.arange(width, device=ids.device)[None, :] >= counts[:, None]
    ids = ids.masked_fill(padding, 0)
    logprobs = logprobs.masked_fill(padding, -math.inf)
    return ids.to(torch.int32).cpu(), logprobs.to(torch.float32).cpu(), counts.to(torch.int32).cpu()


def _sampled(z: torch.Tensor, draws: int, seed: int) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """
    `draws` ids per row with replacement by the inverse CDF, the uniforms from a CPU generator seeded by `seed` (so that
    a seed draws alike on every device), as DeviceLogitsProcessor.Draw; then the distinct drawn ids in rank order
    (count descending, ties by ascending id) with log((1 − r) · count / draws), r the true mass of the ids never drawn.
    """
    rows, v = z.shape
    weights = torch.softmax(z, dim=-1)
    generator = torch.Generator().manual_seed(seed)
    cdf = weights.cumsum(dim=-1)
    total = cdf[:, -1:]
    # The uniforms' top is 1 − 2⁻²⁴; keep u·total below total after rounding as well.
    u = torch.rand((rows, draws), generator=generator).to(device=z.device, dtype=z.dtype) * total * (1 - 1e-6)
    drawn = torch.searchsorted(cdf, u, right=True).clamp_max(v - 1)
    tally = torch.zeros((rows, v), dtype=torch.int32, device=z.device)
    tally.scatter_add_(1, drawn, torch.ones_like(drawn, dtype=torch.int32))
    # Every drawn id is among the top `draws`: entries tied at the boundary are never-drawn zeros, which are not kept.
    counts_of, ids = _rank_order(*torch.topk(tally, min(draws, v), dim=-1))
    kept = counts_of > 0
    drawn_mass = (weights.gather(1, ids).double() * kept).sum(dim=-1, keepdim=True)
    logprobs = torch.log(counts_of.double() / draws) + torch.log(drawn_mass)
    return _kept_only(ids, logprobs, kept.sum(dim=-1))


def truncate(logits: torch.Tensor, *, method: str, top_k: Optional[int] = None, top_p: Optional[float] = None,
             temperature: float = 1.0, draws: Optional[int] = None, seed: Optional[int] = None
             ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """
    Cuts teacher logits on their device and returns the kept entries on the host, by the rules of format-spec section 6
    (those of LogitStore's teacher pass): q = softmax(logits / temperature); top-k keeps the k most probable ids, top-p
    the shortest prefix whose mass reaches p (an entry is kept when the mass ranked before it is below p; at most 1024
    candidates), top-p-k that prefix capped at k, ranked by q descending with ties by ascending id; sampled draws `draws`
    ids from q (seeded) and keeps the distinct ones.

    The log-probabilities returned are those of the distribution a store represents over the kept ids (format-spec
    6.1): log q for the cutting methods, log((1 − r) · count / draws) for sampled, r being the mass never drawn. So the
    lists are what `Writer.write(tokens, ids=…, logprobs=…, counts=…)` takes, with the writer's method "full" (keep what
    is given: sampled stores then count / draws and residual r) or the same cutting method, at temperature 1 (τ is
    applied here).

    Args:
        logits: [..., V] logits on any device, any float dtype (computed in float32, or float64 when given float64).
        method: "top-k", "top-p", "top-p-k" or "sampled" ("full" keeps the whole vocabulary: write the logits).
        top_k: k of top-k and top-p-k.
        top_p: p of top-p and top-p-k, in (0, 1].
        temperature: τ > 0.
        draws: sampled: draws per position.
        seed: sampled: seed of the draws' uniforms.

    Returns:
        ids [..., K] int32, log-probabilities [..., K] float32 and counts [...] int32 on the host, K the largest count:
        position i keeps its first counts[i] entries; the rest are padding (id 0, log-probability −inf).

    Raises:
        TypeError: logits that are not a floating-point tensor, or a parameter of the wrong type.
        ValueError: an unknown method, or a parameter the method needs missing or out of range.
    """
    if not isinstance(logits, torch.Tensor) or not logits.is_floating_point() or logits.ndim < 1:
        raise TypeError("logits must be a floating-point torch tensor [..., V]")
    if method == "full":
        raise ValueError("method 'full' keeps the whole vocabulary: write the logits (Writer.write(tokens, logits=…))")
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")

    def needed(name: str, value, low: int, high: int) -> int:
        if value is None:
            raise ValueError(f"method {method!r} needs {name}")
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{name} must be an integer, not {type(value).__name__}")
        if not low <= value <= high:
            raise ValueError(f"{name} must be in [{low}, {high}], got {value}")
        return int(value)

    if isinstance(temperature, bool) or not isinstance(temperature, numbers.Real):
        raise TypeError(f"temperature must be a number, not {type(temperature).__name__}")
    if not (math.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature must be > 0, got {temperature}")
    k = needed("top_k", top_k, 1, 65535) if method in ("top-k", "top-p-k") else TOP_P_CANDIDATES
    if method in ("top-p", "top-p-k"):
        if top_p is None:
            raise ValueError(f"method {method!r} needs top_p")
        if isinstance(top_p, bool) or not isinstance(top_p, numbers.Real) or not 0 < top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {top_p!r}")
    if method == "sampled":
        draws, seed = needed("draws", draws, 1, 65535), needed("seed", seed, 0, 2**63 - 1)
    lead, v = logits.shape[:-1], logits.shape[-1]
    dtype = torch.float64 if logits.dtype == torch.float64 else torch.float32
    with torch.no_grad():
        z = logits.detach().reshape(-1, v).to(dtype)
        if temperature != 1.0:
            z = z / temperature
        if method == "sampled":
            ids, logprobs, counts = _sampled(z, draws, seed)
        else:
            top, ids = _top(z, min(k, v))
            logprobs = top - torch.logsumexp(z, dim=-1, keepdim=True)
            counts = torch.full(top.shape[:1], top.shape[1], dtype=torch.int64, device=z.device)
            if method in ("top-p", "top-p-k"):
                q = logprobs.double().exp()
                # The mass ranked before each entry, summed in order in float64 as the host's rule sums it.
                before = torch.cat([torch.zeros_like(q[:, :1]), q.cumsum(dim=-1)[:, :-1]], dim=-1)
                counts = (before < top_p).sum(dim=-1)
            ids, logprobs, counts = _kept_only(ids, logprobs, counts)
    width = ids.shape[-1]
    return ids.reshape(*lead, width), logprobs.reshape(*lead, width), counts.reshape(lead)
