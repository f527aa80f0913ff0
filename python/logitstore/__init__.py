"""LogitStore from Python: stores of a teacher's truncated next-token distributions, read through liblogitstore.so."""

__version__ = "0.1.0"

from ._native import LogitStoreError, StoreCorruptError
from .store import Batch, Loader, Sequence, Store, verify
from .stream import Writer

__all__ = ["Batch", "Loader", "LogitStoreError", "Sequence", "Store", "StoreCorruptError", "Writer", "verify"]
