"""The README tour's "Read from PyTorch" snippet runs as written, on the store its bash block packs."""

import os
import re
import subprocess
import sys

from conftest import REPO


def test_readme_training_loop_runs(tmp_path):
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("### 4. Read from PyTorch"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    bash = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    pack = next(line for line in bash.splitlines() if line.startswith("./logitstore pack"))
    subprocess.run(pack.replace("./logitstore", str(REPO / "logitstore"), 1), shell=True, cwd=tmp_path, check=True,
                   capture_output=True)
    (tmp_path / "train.py").write_text(code)
    result = subprocess.run([sys.executable, "train.py"], cwd=tmp_path, capture_output=True, text=True,
                            env=dict(os.environ, PYTHONPATH=str(REPO / "python")), timeout=300)
    assert result.returncode == 0, result.stderr
    assert "epoch 1:" in result.stdout
