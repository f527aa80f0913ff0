"""PyTorch over a LogitStore store: the dataset of ready [B, T, K] batches, its batch ring, the KD loss and the device cut.

The names live in their own modules (`dataset`, `ring`, `loss`, `truncation`); this one gathers them for
`from logitstore.torch import ...`.
"""

from .dataset import LogitStoreDataset, rank_and_world_size
from .loss import kd_loss
from .ring import BatchRing, TensorBatch
from .truncation import truncate

__all__ = ["BatchRing", "LogitStoreDataset", "TensorBatch", "kd_loss", "rank_and_world_size", "truncate"]
