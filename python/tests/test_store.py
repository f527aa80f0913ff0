"""Python reads equal `logitstore dump`, for every id and value codec family; a damaged store raises, naming file and offset."""

import gc

import numpy as np
import pytest

import logitstore
from conftest import dump, pack

CODECS = [
    ("u32", "f32", "top-k"),
    ("packed", "q8", "top-p"),
    ("ranked", "mvq:4", "top-p-k"),
    ("delta", "f16", "top-k"),
    ("packed", "counts", "sampled"),
]


@pytest.mark.parametrize("ids,values,method", CODECS, ids=[f"{i}-{v}" for i, v, _ in CODECS])
def test_reads_equal_dump(stores_dir, ids, values, method):
    directory = pack(stores_dir / f"{ids}-{values}", "--tokens", 3 * 48, "--seq-len", 48, "--seqs-per-block", 2,
                     "--vocab", 3000, "--method", method, "--top-k", 12, "--draws", 16, "--ids", ids, "--values", values,
                     "--dictionary-sample", 96)
    expected = dump(directory)
    with logitstore.Store(directory) as store:
        assert len(store) == len(expected) == 3
        assert store.manifest["codecs"]["ids"].startswith(ids) or store.manifest["codecs"]["ids"] == ids
        for i, want in enumerate(expected):
            got = store[i]
            assert got.sequence == want["sequence"]
            assert got.tokens.tolist() == want["tokens"]
            for t, position in enumerate(want["positions"]):
                n = len(position["ids"])
                assert got.kept_counts[t] == n
                assert got.ids[t, :n].tolist() == position["ids"]
                # dump prints shortest round-trip floats: equal as float32, bit for bit
                assert np.array_equal(got.probs[t, :n], np.array(position["probs"], np.float32))
                assert not got.ids[t, n:].any() and not got.probs[t, n:].any()
                assert got.residual[t] == np.float32(position["residual"])


def test_facts(loader_store):
    with logitstore.Store(loader_store) as store:
        assert store.vocab_size == 500
        assert store.sequence_length == 64
        assert store.max_entries_per_position == 8
        assert len(store) == 48
        assert store.manifest["status"] == "complete"
        assert store[-1].sequence == 47
        with pytest.raises(IndexError):
            store[48]


def pack_small(directory):
    return pack(directory, "--tokens", 8 * 32, "--seq-len", 32, "--seqs-per-block", 2, "--vocab", 300,
                "--method", "top-k", "--top-k", 4, "--ids", "u32", "--values", "f32")


def flip_byte(directory, at):
    shard = sorted((directory / "shards").iterdir())[0]
    data = bytearray(shard.read_bytes())
    data[at if at >= 0 else len(data) + at] ^= 0x5A
    shard.write_bytes(bytes(data))
    return shard


def test_damaged_shard_header_raises_on_open_naming_file_and_offset(stores_dir):
    shard = flip_byte(pack_small(stores_dir / "damaged-header"), 2)
    with pytest.raises(logitstore.StoreCorruptError) as opened:
        logitstore.Store(shard.parent.parent)
    assert opened.value.file == str(shard) and opened.value.offset >= 0
    assert str(shard) in str(opened.value) and f"offset {opened.value.offset}" in str(opened.value)
    report = logitstore.verify(shard.parent.parent)
    assert not report["ok"] and report["faults"][0]["file"] == str(shard)
    # Opened with damage allowed, reads that need the shard raise; the process goes on.
    with logitstore.Store(shard.parent.parent, open_damaged=True) as store:
        assert store.damage
        with pytest.raises(logitstore.StoreCorruptError) as read:
            store[0]
        assert read.value.file == str(shard)


def test_damaged_block_raises_on_read_naming_file_and_offset(stores_dir):
    # A byte inside the first block, past the shard header: the block's own checksum catches it when it is read.
    shard = flip_byte(pack_small(stores_dir / "damaged-block"), 100)
    with logitstore.Store(shard.parent.parent) as store:
        for read in (lambda: store[0], lambda: [b for b in store.batches(2, 32, 4, shuffle=False)]):
            with pytest.raises(logitstore.StoreCorruptError) as failed:
                read()
            assert failed.value.file == str(shard) and failed.value.offset > 0
            assert f"{shard} @ offset {failed.value.offset}" in str(failed.value)
        assert store[7].tokens.shape == (32,)  # another block is intact


def test_missing_store_raises_os_error(tmp_path):
    with pytest.raises(OSError):
        logitstore.Store(tmp_path / "nothing-here")


def test_batches_equal_the_sequences_they_were_cut_from(loader_store):
    with logitstore.Store(loader_store) as store:
        seen = 0
        for batch in store.batches(4, 32, 8, seed=3):
            for r in range(4):
                seq = store.read(int(batch.row_sequence[r]))
                o = int(batch.row_offset[r])
                assert np.array_equal(batch.tokens[r], seq.tokens[o:o + 32])
                assert np.array_equal(batch.kept_counts[r], seq.kept_counts[o:o + 32])
                assert np.array_equal(batch.ids[r], seq.ids[o:o + 32, :8])
                assert np.array_equal(batch.probs[r], seq.probs[o:o + 32, :8])
                assert np.array_equal(batch.residual[r], seq.residual[o:o + 32])
            seen += 1
        assert seen == 48 * 2 // 4


def test_threaded_batches_equal_serial(loader_store):
    with logitstore.Store(loader_store) as store:
        serial = [(b.step, b.tokens.copy(), b.ids.copy()) for b in store.batches(4, 64, 8, seed=5)]
        threaded = [(b.step, b.tokens.copy(), b.ids.copy()) for b in store.batches(4, 64, 8, seed=5, threads=3)]
    assert [s for s, _, _ in serial] == [s for s, _, _ in threaded]
    for (_, t1, i1), (_, t2, i2) in zip(serial, threaded):
        assert np.array_equal(t1, t2) and np.array_equal(i1, i2)


def test_plan_names_the_rows_fill_writes_and_ranks_share_none(loader_store):
    with logitstore.Store(loader_store) as store:
        windows, per_block = 64 // 32, store.manifest["codecs"]["sequences_per_block"]
        taken = []
        for rank in range(3):
            with store.loader(4, 32, 8, seed=7, rank=rank, world_size=3) as loader:
                batch = loader.allocate()
                for step in range(2 * loader.steps_per_epoch):
                    blocks, rows = loader.plan(step)
                    loader.fill(step, batch)
                    sequences = store.first_sequence + blocks.astype(np.uint64) * per_block + (rows // windows).astype(np.uint64)
                    assert np.array_equal(batch.row_sequence, sequences)
                    assert np.array_equal(batch.row_offset, rows % windows * 32)
                    if step < loader.steps_per_epoch:
                        taken += list(zip(blocks.tolist(), rows.tolist()))
        assert len(set(taken)) == len(taken) == 3 * 4 * loader.steps_per_epoch


@pytest.mark.parametrize("threads", [1, 3])
def test_steady_state_fill_allocates_nothing_in_the_library(loader_store, threads):
    library = logitstore._native.lib()
    with logitstore.Store(loader_store) as store, store.loader(4, 32, 8, seed=3) as loader:
        ring = [loader.allocate() for _ in range(threads + 1)]
        epoch = loader.steps_per_epoch
        batches = logitstore.store.fill_in_order(loader, range(6 * epoch), ring, threads)   # one set of threads
        for _ in range(2 * epoch):
            next(batches)   # warm-up: epoch plans, decode scratch and each thread's own state grow once
        gc.collect()   # earlier tests' handles close now, not inside the window (the count covers every thread)
        before = library.logitstore_allocated_bytes()
        for _ in batches:
            pass
        assert library.logitstore_allocated_bytes() - before == 0


def test_every_damaged_byte_raises_or_reads_and_never_crashes(stores_dir):
    """Flips bytes all over a shard and the manifest; each opening and full read either works or raises naming a file."""
    directory = pack(stores_dir / "flips", "--tokens", 4 * 16, "--seq-len", 16, "--seqs-per-block", 2, "--vocab", 200,
                     "--method", "top-k", "--top-k", 3, "--ids", "packed", "--values", "q8")
    shard = sorted((directory / "shards").iterdir())[0]
    manifest = directory / "manifest.json"
    for path in (shard, manifest):
        original = path.read_bytes()
        for at in range(0, len(original), max(1, len(original) // 150)):
            damaged = bytearray(original)
            damaged[at] ^= 0x41
            path.write_bytes(bytes(damaged))
            try:
                with logitstore.Store(directory) as store:
                    for i in range(len(store)):
                        store[i]
                    for _ in store.batches(2, 16, 3):
                        pass
            except logitstore.StoreCorruptError as error:
                assert error.file and error.offset >= 0 and f"@ offset {error.offset}" in str(error)
        path.write_bytes(original)
    # Cut short: refused on opening, naming the shard.
    shard.write_bytes(shard.read_bytes()[:-9])
    with pytest.raises(logitstore.StoreCorruptError) as cut:
        logitstore.Store(directory)
    assert cut.value.file == str(shard)


@pytest.mark.parametrize("sequence,error", [
    (2**64, IndexError), (2**64 + 3, IndexError), (-1, IndexError), (48, IndexError), (2**63, IndexError),
    (1.0, TypeError), ("3", TypeError), (None, TypeError),
])
def test_read_refuses_sequence_ids_outside_the_store(loader_store, sequence, error):
    # ctypes would wrap each of these into a u64 silently, 2**64 + 3 into sequence 3.
    with logitstore.Store(loader_store) as store:
        with pytest.raises(error, match="sequence"):
            store.read(sequence)
        with pytest.raises(error, match="sequence index"):
            store[-49 if sequence == -1 else sequence]   # -1 is the last sequence, by Python's rule
        assert store.read(np.uint64(3)).sequence == 3 and store[np.int64(-1)].sequence == 47


@pytest.mark.parametrize("argument,value,error", [
    ("batch_size", 2**32 + 4, ValueError), ("batch_size", 0, ValueError), ("sequence_length", 2**32 + 64, ValueError),
    ("width", 2**32 + 8, ValueError), ("width", 8.0, TypeError), ("seed", 2**64 + 1, ValueError), ("seed", -1, ValueError),
    ("rank", 2**32, ValueError), ("world_size", 2**32 + 1, ValueError), ("world_size", 0, ValueError),
])
def test_loader_refuses_arguments_its_c_types_would_wrap(loader_store, argument, value, error):
    arguments = dict(batch_size=4, sequence_length=32, width=8, seed=1, rank=0, world_size=1)
    arguments[argument] = value
    with logitstore.Store(loader_store) as store:
        with pytest.raises(error, match=argument):
            store.loader(**arguments)


@pytest.mark.parametrize("step,error", [(2**64, ValueError), (2**63, ValueError), (-1, ValueError), (1.5, TypeError)])
def test_fill_and_plan_refuse_steps_their_c_type_would_wrap(loader_store, step, error):
    with logitstore.Store(loader_store) as store, store.loader(4, 32, 8) as loader:
        batch = loader.allocate()
        with pytest.raises(error, match="step"):
            loader.fill(step, batch)
        with pytest.raises(error, match="step"):
            loader.plan(step)
        assert loader.fill(np.int64(1), batch).step == 1


@pytest.mark.parametrize("argument,value,error", [
    ("epoch", -1, ValueError), ("start_step", -1, ValueError), ("threads", -1, ValueError), ("epoch", 2**64, ValueError),
    ("start_step", "1", TypeError),
])
def test_batches_refuses_negative_or_wrapping_positions(loader_store, argument, value, error):
    with logitstore.Store(loader_store) as store:
        with pytest.raises(error, match=argument):
            next(store.batches(4, 32, 8, **{argument: value}))
