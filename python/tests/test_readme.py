"""The README's PyTorch training example runs as written, on the store its bash block packs."""

import os
import subprocess
import sys

from conftest import REPO
from readme_training_example import training_example


def test_readme_training_loop_runs(tmp_path):
    pack, code = training_example()
    subprocess.run(pack.replace("./logitstore", str(REPO / "logitstore"), 1), shell=True, cwd=tmp_path, check=True,
                   capture_output=True)
    (tmp_path / "train.py").write_text(code)
    result = subprocess.run([sys.executable, "train.py"], cwd=tmp_path, capture_output=True, text=True,
                            env=dict(os.environ, PYTHONPATH=str(REPO / "python")), timeout=300)
    assert result.returncode == 0, result.stderr
    assert "epoch 1:" in result.stdout
