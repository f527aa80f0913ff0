"""ctypes bindings to liblogitstore.so (include/logitstore.h, ABI version 2); nothing here is public."""

import ctypes
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable

ABI_VERSION = 2

OK = 0
CORRUPT = -1
INVALID_ARGUMENT = -2
IO_ERROR = -3

OPEN_DAMAGED = 1


class LogitStoreError(Exception):
    """A call into liblogitstore failed (bad arguments, a missing path, an internal error)."""


class StoreCorruptError(LogitStoreError):
    """The store violates the format; `file` and `offset` say where, as the message does.

    Attributes:
        file: The file that violates the format.
        offset: The byte offset in it, -1 when the fault has none.
    """

    def __init__(self, message: str, file: str, offset: int) -> None:
        super().__init__(message)
        self.file = file
        self.offset = offset


class LoaderOptions(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_int32),
        ("batch_size", ctypes.c_int32),
        ("sequence_length", ctypes.c_int32),
        ("width", ctypes.c_int32),
        ("shuffle", ctypes.c_int32),
        ("skip_damaged_blocks", ctypes.c_int32),
        ("seed", ctypes.c_uint64),
        ("rank", ctypes.c_int32),
        ("world_size", ctypes.c_int32),
    ]


class BatchBuffers(ctypes.Structure):
    _fields_ = [
        ("tokens", ctypes.c_void_p),
        ("kept_counts", ctypes.c_void_p),
        ("residual", ctypes.c_void_p),
        ("ids", ctypes.c_void_p),
        ("probs", ctypes.c_void_p),
        ("row_sequence", ctypes.c_void_p),
        ("row_offset", ctypes.c_void_p),
    ]


class WriterOptions(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_int32),
        ("vocab_size", ctypes.c_uint32),
        ("teacher_id", ctypes.c_char_p),
        ("method", ctypes.c_char_p),
        ("temperature", ctypes.c_float),
        ("top_p", ctypes.c_float),
        ("top_k", ctypes.c_int32),
        ("draws", ctypes.c_int32),
        ("seed", ctypes.c_uint64),
        ("tokens_codec", ctypes.c_char_p),
        ("ids", ctypes.c_char_p),
        ("values", ctypes.c_char_p),
        ("value_log_range", ctypes.c_double),
        ("mvq_beam", ctypes.c_int32),
        ("dictionary_sample", ctypes.c_int32),
        ("zstd_level", ctypes.c_int32),
        ("sequences_per_block", ctypes.c_int32),
        ("shard_target_bytes", ctypes.c_int64),
        ("part_index", ctypes.c_int32),
        ("part_count", ctypes.c_int32),
        ("first_sequence", ctypes.c_uint64),
        ("workers", ctypes.c_int32),
        ("flags", ctypes.c_int32),
        ("id_seed", ctypes.c_uint64),
    ]


WRITER_OVERWRITE = 1
WRITER_ID_SEED = 2


def _library_path():
    explicit = os.environ.get("LOGITSTORE_LIBRARY")
    if explicit:
        return explicit
    here = Path(__file__).resolve().parent
    for candidate in (here / "runtimes" / "linux-x64" / "liblogitstore.so",):
        if candidate.exists():
            return str(candidate)
    raise LogitStoreError(
        f"liblogitstore.so not found under {here / 'runtimes'}; build it with tools/build-native.sh "
        "or point LOGITSTORE_LIBRARY at it")


def _load(path):
    lib = ctypes.CDLL(path)
    p, i32, i64, u64 = ctypes.c_void_p, ctypes.c_int32, ctypes.c_int64, ctypes.c_uint64
    pp = ctypes.POINTER(ctypes.c_void_p)
    signatures = {
        "logitstore_abi_version": (i32, []),
        "logitstore_last_error": (i32, [ctypes.c_char_p, i32]),
        "logitstore_last_error_file": (i32, [ctypes.c_char_p, i32]),
        "logitstore_last_error_offset": (i64, []),
        "logitstore_free_bytes": (None, [p]),
        "logitstore_store_open": (i32, [ctypes.c_char_p, i32, pp]),
        "logitstore_store_close": (None, [p]),
        "logitstore_store_facts": (i32, [p, pp, ctypes.POINTER(i64)]),
        "logitstore_store_sequence_shape": (i32, [p, u64, ctypes.POINTER(i32), ctypes.POINTER(i64)]),
        "logitstore_store_read_sequence": (i32, [p, u64, p, p, p, i32, p, p, i64]),
        "logitstore_verify": (i32, [ctypes.c_char_p, pp, ctypes.POINTER(i64)]),
        "logitstore_loader_create": (i32, [p, ctypes.POINTER(LoaderOptions), pp]),
        "logitstore_loader_steps_per_epoch": (i32, [p, ctypes.POINTER(i64)]),
        "logitstore_loader_plan": (i32, [p, i64, p, p, i32]),
        "logitstore_loader_reserve_callers": (i32, [p, i32]),
        "logitstore_loader_fill": (i32, [p, i64, ctypes.POINTER(BatchBuffers)]),
        "logitstore_loader_close": (None, [p]),
        "logitstore_allocated_bytes": (i64, []),
        "logitstore_writer_options_default": (i32, [ctypes.POINTER(WriterOptions)]),
        "logitstore_writer_create": (i32, [ctypes.c_char_p, ctypes.POINTER(WriterOptions), pp]),
        "logitstore_writer_resume": (i32, [ctypes.c_char_p, ctypes.POINTER(WriterOptions), pp]),
        "logitstore_writer_state": (i32, [p, ctypes.POINTER(u64), ctypes.POINTER(u64), ctypes.POINTER(i32)]),
        "logitstore_writer_append_logits": (i32, [p, p, i32, p, i64]),
        "logitstore_writer_append_top_k": (i32, [p, p, i32, p, p, i32, p]),
        "logitstore_writer_commit": (i32, [p]),
        "logitstore_writer_close": (None, [p]),
    }
    for name, (restype, argtypes) in signatures.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    version = lib.logitstore_abi_version()
    if version != ABI_VERSION:
        raise LogitStoreError(f"liblogitstore ABI version {version}; this package speaks {ABI_VERSION}")
    return lib


_lib = None
_lib_pid = None


def _fresh_copy(path):
    """
    A child forked after the parent started the library's .NET runtime inherits that runtime without its threads, and
    the first collection or lock in it can wait forever. The child loads its own copy instead (another file, so the
    loader maps a second, independent library); the inherited one is never called again.
    """
    directory = "/dev/shm" if os.path.isdir("/dev/shm") else None
    with tempfile.NamedTemporaryFile(prefix=f"liblogitstore-{os.getpid()}-", suffix=".so", dir=directory,
                                     delete=False) as copy:
        with open(path, "rb") as original:
            shutil.copyfileobj(original, copy)
    try:
        return _load(copy.name)
    finally:
        os.unlink(copy.name)


def lib() -> ctypes.CDLL:
    """The library of this process: loaded on first use, and again (a fresh copy) in a child forked after that."""
    global _lib, _lib_pid
    pid = os.getpid()
    if _lib is None:
        _lib = _load(_library_path())
    elif _lib_pid != pid:
        _lib = _fresh_copy(_library_path())
    _lib_pid = pid
    return _lib


def owned_here(pid: int) -> bool:
    """Whether a handle made in process `pid` belongs to this process's library (not one inherited through fork)."""
    return pid == os.getpid()


def _text(getter):
    size = getter(None, 0)
    buffer = ctypes.create_string_buffer(size + 1)
    getter(buffer, size + 1)
    return buffer.value.decode("utf-8", "replace")


def check(status: int) -> None:
    """Raises the calling thread's last error for a failed status."""
    if status == OK:
        return
    library = lib()
    message = _text(library.logitstore_last_error)
    if status == CORRUPT:
        raise StoreCorruptError(message, _text(library.logitstore_last_error_file), library.logitstore_last_error_offset())
    if status == IO_ERROR:
        raise OSError(message)
    if status == INVALID_ARGUMENT:
        raise ValueError(message)
    raise LogitStoreError(message)


def take_bytes(call: Callable[[Any, Any], int]) -> bytes:
    """Runs a call that returns library-owned bytes, and copies and frees them."""
    data = ctypes.c_void_p()
    length = ctypes.c_int64()
    check(call(ctypes.byref(data), ctypes.byref(length)))
    try:
        return ctypes.string_at(data.value, length.value)
    finally:
        lib().logitstore_free_bytes(data)
