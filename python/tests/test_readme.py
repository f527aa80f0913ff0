"""README's "From Python / PyTorch" snippet runs as written, on the store its bash block packs."""

import os
import re
import subprocess
import sys

from conftest import REPO, run_cli


def test_readme_training_loop_runs(tmp_path):
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## From Python / PyTorch"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    os.makedirs(tmp_path / "stores")
    run_cli("pack", "--synthetic", "--tokens", 65536, "--seq-len", 64, "--vocab", 1000, "--method", "top-k", "--top-k", 16,
            "--out", tmp_path / "stores/py", "--id-seed", 1)
    (tmp_path / "train.py").write_text(code)
    result = subprocess.run([sys.executable, "train.py"], cwd=tmp_path, capture_output=True, text=True,
                            env=dict(os.environ, PYTHONPATH=str(REPO / "python")), timeout=300)
    assert result.returncode == 0, result.stderr
    assert "epoch 1:" in result.stdout
