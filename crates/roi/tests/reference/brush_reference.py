"""Paints dabs with the original Dafne's brushes for `tests/brush.rs`.

Usage: brush_reference.py REQUEST.json RESPONSE.json

REQUEST: {"rows", "cols", "dabs": [[shape, size, mouse_x, mouse_y], ...]}; RESPONSE: per dab the
row-major indices of the painted pixels. The position rule is `moveBrushPatch`'s (mouse rounded
with np.round, square at floor(mouse - size/2) + 0.5, circle centred at floor(mouse)); the masks
come from `dafne/ui/BrushPatches.py` of the installed wheel, imported unchanged. Its matplotlib
base classes only store the geometry, so a minimal stand-in replaces matplotlib when it is not
installed.
"""

import importlib
import importlib.metadata
import json
import math
import sys
import types
from pathlib import Path

import numpy as np


def stand_in_matplotlib():
    class Patch:
        def __init__(self, *args, **kwargs):
            pass

    class Rectangle(Patch):
        def __init__(self, xy, width, height, **kwargs):
            self._xy, self._w, self._h = xy, width, height

        def get_xy(self):
            return self._xy

        def set_xy(self, xy):
            self._xy = xy

        def get_width(self):
            return self._w

        def get_height(self):
            return self._h

    class Polygon(Patch):
        def set_xy(self, xy):
            self._xy = xy

    patches = types.ModuleType("matplotlib.patches")
    patches.Rectangle, patches.Polygon = Rectangle, Polygon
    mpl = types.ModuleType("matplotlib")
    mpl.patches = patches
    sys.modules["matplotlib"], sys.modules["matplotlib.patches"] = mpl, patches


def load_brushes():
    root = Path(importlib.metadata.distribution("dafne").locate_file("dafne"))
    for name, path in (("dafne", root), ("dafne.ui", root / "ui")):
        module = types.ModuleType(name)
        module.__path__ = [str(path)]
        sys.modules[name] = module
    try:
        import matplotlib.patches  # noqa: F401
    except ImportError:
        stand_in_matplotlib()
    return importlib.import_module("dafne.ui.BrushPatches")


def main(request_path, response_path):
    brushes = load_brushes()
    request = json.loads(Path(request_path).read_text())
    shape = (request["rows"], request["cols"])
    out = []
    for kind, size, mouse_x, mouse_y in request["dabs"]:
        mouse_x, mouse_y = np.round(mouse_x), np.round(mouse_y)
        if kind == "square":
            xy = (math.floor(mouse_x - size / 2) + 0.5, math.floor(mouse_y - size / 2) + 0.5)
            mask = brushes.SquareBrush(xy, size, size).to_mask(shape)
        else:
            center = (math.floor(mouse_x), math.floor(mouse_y))
            mask = brushes.PixelatedCircleBrush(center, size).to_mask(shape)
        out.append(np.flatnonzero(mask).tolist())
    Path(response_path).write_text(json.dumps(out))


if __name__ == "__main__":
    main(*sys.argv[1:])
