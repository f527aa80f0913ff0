"""
include/logitstore.h matches the library: a C program compiled against it opens a store, plans and fills a batch,
reports an error.
"""

import shutil
import subprocess

import pytest

from conftest import REPO

PROGRAM = r"""
#include <stdio.h>
#include <stdlib.h>
#include "logitstore.h"

int main(int argc, char **argv) {
    if (logitstore_abi_version() != LOGITSTORE_ABI_VERSION) return 10;
    logitstore_store *store = NULL;
    if (logitstore_store_open("/no/such/store", 0, &store) != LOGITSTORE_IO_ERROR) return 11;
    char message[512];
    if (logitstore_last_error(message, sizeof message) <= 0) return 12;
    if (logitstore_store_open(argv[1], 0, &store) != LOGITSTORE_OK) return 13;
    uint8_t *json; int64_t length;
    if (logitstore_store_facts(store, &json, &length) != LOGITSTORE_OK || length <= 0 || json[0] != '{') return 14;
    logitstore_free_bytes(json);
    logitstore_loader_options o = {sizeof o, 4, 32, 8, 1, 0, 1, 0, 1};
    logitstore_loader *loader = NULL;
    if (logitstore_loader_create(store, &o, &loader) != LOGITSTORE_OK) return 15;
    logitstore_store_close(store); /* the loader keeps it open */
    int32_t tokens[128], counts[128], ids[1024], offsets[4];
    float residual[128], probs[1024];
    uint64_t rows[4];
    logitstore_batch_buffers b = {tokens, counts, residual, ids, probs, rows, offsets};
    int64_t steps;
    if (logitstore_loader_steps_per_epoch(loader, &steps) != LOGITSTORE_OK || steps != 24) return 16;
    if (logitstore_loader_fill(loader, 5, &b) != LOGITSTORE_OK) return 17;
    for (int i = 0; i < 128; i++) if (counts[i] != 8) return 18;
    if (logitstore_loader_fill(loader, -1, &b) != LOGITSTORE_INVALID_ARGUMENT) return 19;
    int32_t blocks[4], block_rows[4];
    if (logitstore_loader_plan(loader, 5, blocks, block_rows, 4) != LOGITSTORE_OK) return 20;
    /* 4 sequences a block, 2 rows of 32 positions a sequence */
    for (int r = 0; r < 4; r++)
        if (rows[r] != (uint64_t)(blocks[r] * 4 + block_rows[r] / 2) || offsets[r] != block_rows[r] % 2 * 32) return 21;
    if (logitstore_loader_plan(loader, 5, blocks, block_rows, 3) != LOGITSTORE_INVALID_ARGUMENT) return 22;
    logitstore_loader_close(loader);
    printf("ok %llu\n", (unsigned long long)rows[0]);
    return 0;
}
"""


@pytest.mark.skipif(shutil.which("clang") is None and shutil.which("cc") is None, reason="no C compiler")
def test_c_program_against_the_header(loader_store, tmp_path):
    source = tmp_path / "smoke.c"
    source.write_text(PROGRAM)
    runtimes = REPO / "python/logitstore/runtimes/linux-x64"
    compiler = shutil.which("clang") or shutil.which("cc")
    subprocess.run([compiler, "-std=c11", "-Wall", "-Werror", "-I", str(REPO / "include"), str(source), "-L", str(runtimes),
                    "-llogitstore", f"-Wl,-rpath,{runtimes}", "-o", str(tmp_path / "smoke")], check=True)
    result = subprocess.run([str(tmp_path / "smoke"), str(loader_store)], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("ok"), (result.returncode, result.stderr)
