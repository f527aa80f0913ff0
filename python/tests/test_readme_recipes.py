"""The Slurm, Kubernetes and torchrun recipes of docs/packing-at-scale.md, run as written: a first try that dies, a
retry that finishes the part, and a retry of a finished part, each with the same command; then the parts merge into a
store that verifies."""

import os
import re
import subprocess
import sys
import textwrap

from conftest import CLI, REPO, run_cli

SEQUENCES, LENGTH, VOCAB, K = 200, 16, 1000, 8   # 4 blocks of 64 sequences: parts of 2 blocks each

# Stands in for the recipes' my_teacher.py / my_teacher module: part i of N of a fixed random top-k stream (protocol 2).
MY_TEACHER = textwrap.dedent(f"""
    import argparse, os, sys
    import numpy as np
    sys.path.insert(0, {str(REPO / "python")!r})
    from logitstore.stream import Writer

    def write_slice(out, part, parts, device=None):
        blocks = -(-{SEQUENCES} // 64)
        first, end = 64 * (blocks * part // parts), min(64 * (blocks * (part + 1) // parts), {SEQUENCES})
        stop = int(os.environ.get("MY_TEACHER_DIES_AFTER", end - first))
        writer = Writer(out, {VOCAB}, kind="top-k", max_entries={K}, teacher_id="recipe-teacher", first_sequence=first)
        for s in range(first, end):
            if s - first == stop:
                out.flush()
                os._exit(1)   # dies without the end frame
            rng = np.random.default_rng(s)
            ids = np.stack([rng.choice({VOCAB}, {K}, replace=False) for _ in range({LENGTH})])
            logprobs = np.sort(np.log(rng.dirichlet(np.ones({K}), {LENGTH}) * 0.9), axis=1)[:, ::-1]
            writer.write_top_k(rng.integers(0, {VOCAB}, {LENGTH}), ids, logprobs)
        writer.close()

    if __name__ == "__main__":
        ap = argparse.ArgumentParser()
        ap.add_argument("--part")
        i, n = map(int, ap.parse_args().part.split("/"))
        write_slice(sys.stdout.buffer, i, n)
""")


def recipes():
    return (REPO / "docs" / "packing-at-scale.md").read_text()


def prepare(tmp_path):
    (tmp_path / "my_teacher.py").write_text(MY_TEACHER)
    launcher = tmp_path / "logitstore"
    launcher.write_text(f'#!/bin/sh\nexec {CLI[0]} "$@"\n')
    launcher.chmod(0o755)
    (tmp_path / "stores" / "parts").mkdir(parents=True)
    (tmp_path / "logs").mkdir()


def tries(tmp_path, command, environment):
    """The first try dies mid-slice; the retry finishes the part; a retry of a finished part changes nothing."""
    env = dict(os.environ, PYTHONPATH=str(REPO / "python"), **environment)
    first = subprocess.run(command, cwd=tmp_path, env=dict(env, MY_TEACHER_DIES_AFTER="70"), capture_output=True, text=True)
    assert first.returncode != 0 and "without an end frame" in first.stderr, first.stderr
    for attempt in ("retry", "retry of a complete part"):
        again = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
        assert again.returncode == 0, f"{attempt}: {again.stderr}"


def merge_and_verify(tmp_path, parts):
    run_cli("merge", "--out", tmp_path / "stores" / "merged", *parts)
    run_cli("verify", tmp_path / "stores" / "merged")


def test_slurm_array_recipe(tmp_path):
    section = recipes()[recipes().index("Slurm array"):]
    script = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    prepare(tmp_path)
    (tmp_path / "pack.sbatch").write_text(script.replace("python my_teacher.py", f"{sys.executable} my_teacher.py"))
    for task in (0, 1):
        tries(tmp_path, ["bash", "pack.sbatch"], {"SLURM_ARRAY_TASK_ID": str(task), "SLURM_ARRAY_TASK_COUNT": "2"})
    merge_and_verify(tmp_path, [tmp_path / "stores" / "parts" / f"part-{i}" for i in (0, 1)])


def test_kubernetes_indexed_job_recipe(tmp_path):
    section = recipes()[recipes().index("Kubernetes Indexed Job"):]
    yaml = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)
    args = re.search(r"args:\n\s*- \|\n(.*?)\n\s*resources:", yaml, re.S).group(1)
    script = textwrap.dedent(args).replace("/stores/", "stores/").replace("python my_teacher.py", f"{sys.executable} my_teacher.py")
    script = script.replace("/8", "/2")   # two completions here, not eight
    prepare(tmp_path)
    for index in (0, 1):
        tries(tmp_path, ["bash", "-c", script], {"JOB_COMPLETION_INDEX": str(index)})
    merge_and_verify(tmp_path, [tmp_path / "stores" / "parts" / f"part-{i}" for i in (0, 1)])


def test_torchrun_recipe(tmp_path):
    section = recipes()[recipes().index("torchrun (one pack per rank"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    prepare(tmp_path)
    (tmp_path / "teacher_pass.py").write_text(code)
    for rank in (0, 1):
        tries(tmp_path, [sys.executable, "teacher_pass.py"], {"RANK": str(rank), "WORLD_SIZE": "2", "LOCAL_RANK": "0"})
    merge_and_verify(tmp_path, [tmp_path / "stores" / "parts" / f"part-{i}" for i in (0, 1)])
