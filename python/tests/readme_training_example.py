"""
The README's PyTorch training example, found by its shape rather than by a heading: a ```bash block with a
`./logitstore pack` line and a line that runs `train.py`, followed directly by the ```python block that is train.py.
README.md is searched first, then docs/*.md, so the example may move to a docs page.
"""

import re

from conftest import REPO

_EXAMPLE = re.compile(r"```bash\n(?P<bash>(?:(?!```).)*?)```\s*```python\n(?P<code>.*?)```", re.S)


def training_example():
    """(the `./logitstore pack` command line that makes the example's store, the train.py source); the first found."""
    for page in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        for match in _EXAMPLE.finditer(page.read_text()):
            lines = match["bash"].splitlines()
            pack = [line for line in lines if line.startswith("./logitstore pack")]
            if pack and any("train.py" in line for line in lines):
                return pack[0], match["code"]
    raise AssertionError("no ```bash block with `./logitstore pack` and `train.py` followed by a ```python block in "
                         "README.md or docs/*.md")
