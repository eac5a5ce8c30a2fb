import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = pathlib.Path(os.environ.get("DAFNE_TEST_DATA", ROOT.parent / "shared" / "data"))
DAFNE = os.environ.get("DAFNE_BIN", str(ROOT / "target" / "debug" / "dafne"))


@pytest.fixture
def data():
    return DATA


@pytest.fixture
def dafne():
    def run(*args):
        return subprocess.run([DAFNE, *map(str, args)], check=True, capture_output=True, text=True)

    return run
