"""
The wheel tools/build-wheel.sh builds, installed into a fresh virtual environment outside the checkout, works on its
own: the README's training example runs with that environment's python (no PYTHONPATH, run from outside the checkout),
and the installed package holds py.typed and liblogitstore.so, loads no .NET runtime, and runs no package manager.
"""

import json
import os
import re
import subprocess
import sys
import zipfile

import pytest

import logitstore
from conftest import REPO
from readme_training_example import training_example

WHEEL = REPO / "out" / "wheel" / f"logitstore-{logitstore.__version__}-py3-none-linux_x86_64.whl"
SOURCE = REPO / "python" / "logitstore"
LIBRARY = "logitstore/runtimes/linux-x64/liblogitstore.so"

# What the installed package must not run: a package manager, or anything as root.
SYSTEM_INSTALL = re.compile(rb"\b(apt-get|apt|aptitude|dpkg|sudo)\b")

# Printed by the environment's python: where the package and its library came from, and any .NET runtime mapped.
_WHERE = """
import json, logitstore
from logitstore import _native
_native.lib()
maps = open("/proc/self/maps").read().split()
print(json.dumps({"package": logitstore.__file__, "library": _native._library_path(),
                  "dotnet": sorted({m for m in maps if "coreclr" in m or "hostfxr" in m or "/dotnet/" in m})}))
"""


def _outside_checkout_env():
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LOGITSTORE_LIBRARY", "PYTHONHOME")}
    env["DOTNET_ROOT"] = "/nonexistent"   # the library is self-contained: nothing of a .NET install may be needed
    return env


def _run(args, cwd, timeout=300):
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=_outside_checkout_env(), capture_output=True,
                            text=True, timeout=timeout)
    assert result.returncode == 0, f"{' '.join(map(str, args))} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def wheel():
    """The built wheel, checked to hold this checkout's package and library (a stale one fails, naming the fix)."""
    if not WHEEL.exists():
        pytest.fail(f"{WHEEL} is missing: run tools/build-wheel.sh (tools/test-python.sh does)")
    with zipfile.ZipFile(WHEEL) as archive:
        members = set(archive.namelist())
        sources = {f"logitstore/{p.name}": p for p in SOURCE.glob("*.py")}
        sources[LIBRARY] = SOURCE / "runtimes" / "linux-x64" / "liblogitstore.so"
        stale = [name for name, path in sources.items()
                 if name not in members or archive.read(name) != path.read_bytes()]
    assert not stale, f"{WHEEL.name} differs from the checkout in {stale}: run tools/build-wheel.sh"
    return WHEEL


@pytest.fixture(scope="module")
def environment(wheel, tmp_path_factory):
    """A fresh venv (seeing Debian's numpy and torch) in a temporary folder outside the checkout, the wheel installed."""
    root = tmp_path_factory.mktemp("wheel-venv")
    assert REPO not in root.resolve().parents, f"{root} lies inside the checkout"
    venv = root / "venv"
    _run([sys.executable, "-m", "venv", "--system-site-packages", venv], cwd=root)
    python = venv / "bin" / "python"
    _run([python, "-m", "pip", "install", "--no-index", "--quiet", wheel], cwd=root)
    return root, python


@pytest.fixture(scope="module")
def installed(environment):
    """The installed package's folder and what its python reports about it."""
    root, python = environment
    where = json.loads(_run([python, "-c", _WHERE], cwd=root))
    package = os.path.dirname(where["package"])
    return package, where


def test_installed_package_is_the_wheels_not_the_checkouts(installed, environment):
    package, where = installed
    venv = environment[1].parent.parent
    assert os.path.commonpath([package, str(venv)]) == str(venv), package
    assert where["library"] == os.path.join(package, "runtimes", "linux-x64", "liblogitstore.so")


def test_installed_package_holds_py_typed_and_the_library(installed):
    package, _ = installed
    assert os.path.isfile(os.path.join(package, "py.typed"))
    assert os.path.getsize(os.path.join(package, "runtimes", "linux-x64", "liblogitstore.so")) > 0


def test_installed_package_loads_no_dotnet_runtime(installed):
    assert installed[1]["dotnet"] == []


def test_installed_package_runs_no_package_manager(installed):
    package, _ = installed
    found = []
    for directory, _, files in os.walk(package):
        for name in files:
            if name.endswith(".pyc"):
                continue
            path = os.path.join(directory, name)
            found += [f"{path}: {m.group().decode()}" for m in SYSTEM_INSTALL.finditer(open(path, "rb").read())]
    assert not found, found


def test_readme_training_example_runs_from_the_installed_wheel(environment):
    root, python = environment
    pack, code = training_example()
    subprocess.run(pack.replace("./logitstore", str(REPO / "logitstore"), 1), shell=True, cwd=root, check=True,
                   capture_output=True)
    (root / "train.py").write_text(code)
    assert "epoch 1:" in _run([python, "train.py"], cwd=root)
