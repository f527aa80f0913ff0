"""The KD loss of the C# trainer over a LogitStore batch: the forward KL from the stored teacher distribution."""

from __future__ import annotations

import torch

__all__ = ["kd_loss"]


def kd_loss(student_logits: torch.Tensor, ids: torch.Tensor, probs: torch.Tensor, kept_counts: torch.Tensor,
            residual: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """The forward KL between the stored teacher distribution and the student's: KdLoss (ForwardKl) of the C# trainer.

    KL(p || q) with q = softmax(student_logits / tau), averaged over positions and scaled by tau^2. p is the kept
    entries times (1 - residual), with the residual spread evenly over the V - n ids not kept (spec 6.1); at tau != 1,
    p^(1/tau) renormalised. Every sum over the vocabulary is taken in closed form from the log-softmax, so nothing
    beyond the logits [B, T, V] is of size V.

    Args:
        student_logits: The student's logits [B, T, V].
        ids: The batch's kept ids [B, T, K].
        probs: Their probabilities [B, T, K].
        kept_counts: Entries kept per position [B, T].
        residual: Probability mass dropped per position [B, T].
        temperature: tau.

    Returns:
        The loss, a scalar tensor.
    """
    v, k = student_logits.shape[-1], ids.shape[-1]
    log_q = torch.log_softmax(student_logits.float() / temperature, dim=-1)
    mask = torch.arange(k, device=ids.device).view(1, 1, k) < kept_counts.unsqueeze(-1)
    mask_f = mask.float()
    log_q_kept = log_q.gather(-1, ids.long()) * mask_f
    n = kept_counts.float()
    rest = (v - n).clamp_min(1)
    kept, res = _tempered(probs.float(), residual.float(), mask, mask_f, rest, temperature)
    u = res / rest
    p_log_p = (kept * kept.clamp_min(1e-30).log()).sum(-1) + res * u.clamp_min(1e-30).log()
    sum_log_q_all = log_q.sum(-1)
    p_log_q = (kept * log_q_kept).sum(-1) + u * (sum_log_q_all - log_q_kept.sum(-1))
    return (p_log_p - p_log_q).mean() * (temperature * temperature)


def _tempered(probs: torch.Tensor, residual: torch.Tensor, mask: torch.Tensor, mask_f: torch.Tensor, rest: torch.Tensor,
              temperature: float) -> tuple[torch.Tensor, torch.Tensor]:
    kept = (1 - residual).unsqueeze(-1) * probs * mask_f
    if temperature == 1.0:
        return kept, residual
    inv = 1.0 / temperature
    neg_inf = torch.full_like(kept, float("-inf"))
    log_kept = torch.where(mask & (kept > 0), kept.clamp_min(1e-38).log() * inv, neg_inf)
    log_tail = torch.where(residual > 0, rest.log() + (residual / rest).clamp_min(1e-38).log() * inv,
                           torch.full_like(rest, float("-inf")))
    log_z = torch.cat([log_kept, log_tail.unsqueeze(-1)], -1).logsumexp(-1)
    return (log_kept - log_z.unsqueeze(-1)).exp(), (log_tail - log_z).exp()
