"""A shard cut short while a store is open: every read path raises naming the shard, and the interpreter lives on."""

import json
import shutil
import subprocess
import sys
import textwrap

import pytest

from conftest import REPO

# Runs in a child: a read of a mapped page past a file's end is a SIGBUS that kills the interpreter, which the test
# then reports as a failure instead of losing the whole pytest run.
_READER = textwrap.dedent("""
    import ctypes, json, os, sys
    sys.path.insert(0, sys.argv[1])
    import logitstore
    from logitstore import _native

    directory, path, cut = sys.argv[2:5]
    shard = os.path.join(directory, "shards", sorted(os.listdir(os.path.join(directory, "shards")))[0])

    def truncate():
        size = os.path.getsize(shard)
        os.truncate(shard, size // 2 if cut == "half" else size - 5)

    def read_everything(store):
        if path == "read":
            store.read(store.first_sequence)
            truncate()
            for i in range(len(store)):
                store.read(store.first_sequence + i)
        elif path in ("batches", "threaded"):
            batches = store.batches(4, 64, 8, shuffle=False, threads=3 if path == "threaded" else 1)
            next(batches)
            truncate()
            for _ in batches:
                pass
        elif path == "fill":
            with store.loader(4, 64, 8, shuffle=False) as loader:
                batch = loader.fill(0, loader.allocate())
                truncate()
                for step in range(loader.steps_per_epoch):
                    loader.fill(step, batch)

    with logitstore.Store(directory) as store:
        try:
            read_everything(store)
        except logitstore.StoreCorruptError as error:
            print(json.dumps({"shard": shard, "file": error.file, "offset": error.offset, "message": str(error)}))
        else:
            print(json.dumps({"shard": shard, "file": None}))
    print(json.dumps({"alive": True}))
""")

PATHS = ["read", "batches", "threaded", "fill"]


@pytest.mark.parametrize("cut", ["half", "few-bytes"])
@pytest.mark.parametrize("path", PATHS)
def test_shard_truncated_while_open_raises_naming_it(loader_store, tmp_path, path, cut):
    directory = shutil.copytree(loader_store, tmp_path / "store")
    child = subprocess.run([sys.executable, "-c", _READER, str(REPO / "python"), str(directory), path, cut],
                           capture_output=True, text=True, timeout=120)
    assert child.returncode == 0, f"the reader died (status {child.returncode}): {child.stderr[-2000:]}"
    failure, alive = (json.loads(line) for line in child.stdout.splitlines()[-2:])
    assert failure["file"] == failure["shard"], f"no error naming the cut shard: {failure}"
    assert failure["offset"] >= 0 and f"{failure['shard']} @ offset {failure['offset']}" in failure["message"]
    assert "truncated" in failure["message"]
    assert alive == {"alive": True}
