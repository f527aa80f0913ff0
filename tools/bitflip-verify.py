#!/usr/bin/python3
"""Flips single bits in a copy of a store and counts how many `logitstore verify` detects, naming file and offset.

Usage: tools/bitflip-verify.py STORE FLIPS [SEED]. Each flip picks one of the store's files uniformly, then a random
bit of it, so that the small files (manifest, dictionaries) are hit as often as the shards.
"""
import os
import random
import shutil
import subprocess
import sys
import tempfile

store, flips = sys.argv[1], int(sys.argv[2])
random.seed(int(sys.argv[3]) if len(sys.argv) > 3 else 7)
cli = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "logitstore")
files = sorted(os.path.relpath(os.path.join(d, f), store) for d, _, fs in os.walk(store) for f in fs)
detected = named = 0
with tempfile.TemporaryDirectory() as scratch:
    work = os.path.join(scratch, "store")
    for _ in range(flips):
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(store, work)
        name = random.choice(files)
        target = os.path.join(work, name)
        data = bytearray(open(target, "rb").read())
        at = random.randrange(len(data))
        data[at] ^= 1 << random.randrange(8)
        open(target, "wb").write(data)
        p = subprocess.run([cli, "verify", work], capture_output=True, text=True)
        if p.returncode != 0:
            detected += 1
            named += os.path.basename(name) in p.stderr and "@ offset" in p.stderr
        else:
            print(f"undetected: {name} byte {at}")
print(f"{flips} single-bit flips over {len(files)} files: {detected} detected, {named} naming the file and an offset")
