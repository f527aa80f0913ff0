"""
The process-side ring of batch buffers that LogitStore's loader fills (it runs no threads of its own): reused tensors in
the training process, and in a DataLoader worker shared-memory slots that cross to the training process as an address.
"""

import functools
import os
import threading

import numpy as np
import torch
from torch.utils.data import get_worker_info

from .store import Batch


# (name, dtype, element bytes, rank) of the buffers of one batch, in slot order.
_FIELDS = (("tokens", torch.int32, 4, 2), ("kept_counts", torch.int32, 4, 2), ("residual", torch.float32, 4, 2),
           ("ids", torch.int32, 4, 3), ("probs", torch.float32, 4, 3), ("row_sequence", torch.int64, 8, 1),
           ("row_offset", torch.int32, 4, 1))

# A worker's slot starts with its 8-byte token, which the training process checks after mapping it.
_SLOT_HEADER = 64


@functools.lru_cache(maxsize=64)
def _slot_layout(b, t, k):
    """((name, dtype, shape, byte offset, bytes) per buffer, slot bytes): after the header, every buffer 64-byte aligned."""
    layout, offset = [], _SLOT_HEADER
    for name, dtype, size, rank in _FIELDS:
        shape = {1: (b,), 2: (b, t), 3: (b, t, k)}[rank]
        nbytes = int(np.prod(shape)) * size
        layout.append((name, dtype, shape, offset, nbytes))
        offset += (nbytes + 63) // 64 * 64
    return tuple(layout), offset


def _views(base, b, t, k):
    """The batch's tensors as views of one uint8 tensor laid out by `_slot_layout`."""
    return {name: base[offset:offset + nbytes].view(dtype).view(shape)
            for name, dtype, shape, offset, nbytes in _slot_layout(b, t, k)[0]}


class TensorBatch(Batch):
    """A `Batch` whose buffers are torch tensors: views of one uint8 tensor (`base`), pinned when asked."""

    def __init__(self, batch_size, sequence_length, width, *, pin_memory=False, base=None):
        b, t, k = batch_size, sequence_length, width
        if base is None:
            base = torch.zeros(_slot_layout(b, t, k)[1], dtype=torch.uint8)
            if pin_memory:
                base = base.pin_memory()
        self.base = base
        self.tensors = x = _views(base, b, t, k)
        super().__init__(x["tokens"].numpy(), x["kept_counts"].numpy(), x["residual"].numpy(), x["ids"].numpy(),
                         x["probs"].numpy(), x["row_sequence"].numpy().view(np.uint64), x["row_offset"].numpy())


def _untyped_storage(tensor):
    return tensor.untyped_storage() if hasattr(tensor, "untyped_storage") else tensor.storage()


class _WorkerSlot:
    """
    One ring slot of a DataLoader worker: torch shared memory held through a file descriptor (torch's own
    file_descriptor sharing, whatever the strategy set), so that a tensor of it still pickles the usual way, and so
    that the training process can map it by path, /proc/<worker>/fd/<fd>, while the worker lives. The file has no
    name: nothing is left behind however the worker ends.
    """

    def __init__(self, b, t, k):
        self.shape = (b, t, k)
        self.nbytes = _slot_layout(b, t, k)[1]
        base = torch.zeros(self.nbytes, dtype=torch.uint8)
        self.fd, _ = _untyped_storage(base)._share_fd_cpu_()
        self.token = int.from_bytes(os.urandom(8), "little") >> 1
        base[:8].view(torch.int64)[0] = self.token
        self.batch = TensorBatch(b, t, k, base=base)


class _WorkerRing:
    """A worker's slots for one dataset and batch shape, and the slot the next batch goes to (across iterators)."""

    def __init__(self):
        self.slots, self.next, self.in_use = [], 0, False


class BatchRing:
    """
    `size` reusable batch buffers for this process; use it as a context manager around one iteration. In the training
    process they are plain (or pinned) tensors and a batch is handed on as its dict of tensors. In a DataLoader worker
    they are shared-memory slots, kept for the worker's whole life under `key` and taken up where the last iterator
    left off (a persistent worker's next epoch does not overwrite the batches the last one handed out first), and a
    batch is handed on as a dict whose pickle is its slot's address; the training process maps each slot once.
    """

    _worker_rings = {}
    _slot_of_ids = {}   # data_ptr of a slot's ids tensor -> the slot (this worker's)

    def __init__(self, key, size, b, t, k, *, pin_memory=False):
        self.in_worker = get_worker_info() is not None
        self._ring = None
        if not self.in_worker:
            self.batches = [TensorBatch(b, t, k, pin_memory=pin_memory) for _ in range(size)]
            return
        rings = BatchRing._worker_rings.setdefault((key, b, t, k), [])
        ring = next((r for r in rings if not r.in_use), None)   # a second live iterator gets slots of its own
        if ring is None:
            ring = _WorkerRing()
            rings.append(ring)
        while len(ring.slots) < size:
            slot = _WorkerSlot(b, t, k)
            ring.slots.append(slot)
            BatchRing._slot_of_ids[slot.batch.tensors["ids"].data_ptr()] = slot
        ring.in_use = True
        self._ring, self._start = ring, ring.next % size
        self._order = [ring.slots[(self._start + j) % size] for j in range(size)]
        self.batches = [slot.batch for slot in self._order]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self._ring is not None:
            self._ring.in_use = False

    def hand_off(self, i, step):
        """What the iterator yields for the batch in buffer i (in `batches` order): a dict of its tensors and step."""
        n = len(self.batches)
        if not self.in_worker:
            return dict(self.batches[i % n].tensors, step=step)
        self._ring.next = (self._start + i + 1) % n
        return _SlotHandOff(dict(self.batches[i % n].tensors, step=step))


class _SlotHandOff(dict):
    """
    A worker's batch: the dict of its slot's tensors (what code in the worker, a collate_fn say, sees), which pickles
    as the slot's address (about 100 bytes) while its tensors are still the slot's; a dict built anew from it (as
    DataLoader's default_convert does) finds its slot again by its ids tensor. Other tensors pickle the usual way.
    """

    def _slot(self):
        ids = self.get("ids")
        slot = BatchRing._slot_of_ids.get(ids.data_ptr()) if torch.is_tensor(ids) else None
        if slot is None or any(not torch.is_tensor(v) or v.data_ptr() != slot.batch.tensors[k].data_ptr()
                               for k, v in self.items() if k != "step"):
            return None
        return slot if set(self) == set(slot.batch.tensors) | {"step"} else None

    def __reduce__(self):
        slot = self._slot()
        if slot is None:
            return dict, (dict(self),)
        return _receive_slot, (os.getpid(), slot.fd, slot.token, slot.nbytes, slot.shape, self["step"])


# Slots mapped in the training process, by (worker pid, fd, token). A miss drops the entries of workers that have
# exited; a mapping itself goes when the last tensor viewing it does. A forked child starts with none.
_mapped_slots = {}
_mapped_slots_lock = threading.Lock()


def _forget_mapped_slots_after_fork():
    global _mapped_slots_lock
    _mapped_slots.clear()
    _mapped_slots_lock = threading.Lock()   # another thread may have held it at the fork


os.register_at_fork(after_in_child=_forget_mapped_slots_after_fork)


def _receive_slot(pid, fd, token, nbytes, shape, step):
    key = (pid, fd, token)
    base = _mapped_slots.get(key)
    if base is None:
        with _mapped_slots_lock:
            base = _mapped_slots.get(key)
            if base is None:
                for stale in [s for s in _mapped_slots if s[0] != pid and not _alive(s[0])]:
                    del _mapped_slots[stale]
                base = _map_slot(pid, fd, token, nbytes)
                _mapped_slots[key] = base
    return dict(_views(base, *shape), step=step)


def _map_slot(pid, fd, token, nbytes):
    path = f"/proc/{pid}/fd/{fd}"
    try:
        if os.stat(path).st_size != nbytes:
            raise OSError(f"{path} is not a batch slot of {nbytes} bytes")
        base = torch.from_file(path, shared=True, size=nbytes, dtype=torch.uint8)
    except (OSError, RuntimeError) as e:
        raise RuntimeError(f"cannot map DataLoader worker {pid}'s batch slot ({e}); where /proc/<pid>/fd is not "
                           "readable, use num_workers=0 with LogitStoreDataset(threads=N)") from e
    if int(base[:8].view(torch.int64)[0]) != token:
        raise RuntimeError(f"{path} is not the batch slot worker {pid} sent (its token differs)")
    return base


def _alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
