"""LogitStore from Python: stores of a teacher's truncated next-token distributions, read and written through liblogitstore.so."""

__version__ = "0.1.0"

from ._native import LogitStoreError, StoreCorruptError
from .store import Batch, Loader, Sequence, Store, verify
from .writer import Writer

__all__ = ["Batch", "Loader", "LogitStoreError", "Sequence", "Store", "StoreCorruptError", "Writer", "verify"]
