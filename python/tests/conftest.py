"""Stores for the tests, packed once per session by the CLI of this checkout (synthetic teacher, fixed seeds)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "python"))

CLI = [str(REPO / "logitstore")]


def run_cli(*args, stdin=None):
    result = subprocess.run(CLI + [str(a) for a in args], input=stdin, capture_output=True)
    if result.returncode != 0:
        raise AssertionError(f"logitstore {' '.join(map(str, args))} exited {result.returncode}: {result.stderr.decode()}")
    return result.stdout


def pack(directory, *options):
    run_cli("pack", "--synthetic", "--out", directory, "--id-seed", 1, "--workers", 1, "--force", *options)
    return directory


def dump(directory):
    return json.loads(run_cli("dump", directory))


@pytest.fixture(scope="session")
def stores_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("stores")


@pytest.fixture(scope="session")
def loader_store(stores_dir):
    """12 blocks of 4 sequences of 64 positions, top-k 8: splits evenly over world sizes 1, 2 and 3."""
    return pack(stores_dir / "loader", "--tokens", 12 * 4 * 64, "--seq-len", 64, "--seqs-per-block", 4, "--vocab", 500,
                "--method", "top-k", "--top-k", 8, "--ids", "packed", "--values", "q8")


if os.environ.get("LOGITSTORE_LIBRARY") is None and not (REPO / "python/logitstore/runtimes/linux-x64/liblogitstore.so").exists():
    raise RuntimeError("liblogitstore.so is not built: run tools/build-native.sh first")
