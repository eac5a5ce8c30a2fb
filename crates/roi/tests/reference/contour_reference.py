"""Runs the original Dafne's contour code on the cases `tests/contour.rs` writes.

Usage: contour_reference.py REQUEST.json RESPONSE.json

The original is the `dafne` wheel installed (without its dependencies) in this interpreter.
Importing `dafne` itself runs installers, so the package objects `dafne` and `dafne.utils` are
registered empty and `pySplineInterp`, `mask_to_spline` and `ROIManager` are imported unchanged
from the installed files. `optimize` / `optimizeKnot3` are methods of the Qt window: their text is
compiled verbatim from `dafne/ui/MuscleSegmentation.py` and bound to a small host object holding
the image and the contour. Floats that must survive exactly are returned as IEEE-754 bit patterns.
"""

import ast
import contextlib
import importlib
import importlib.metadata
import io
import json
import struct
import sys
import textwrap
import types
from pathlib import Path

import numpy as np
from scipy import ndimage


def load_original():
    root = Path(importlib.metadata.distribution("dafne").locate_file("dafne"))
    for name, path in (("dafne", root), ("dafne.utils", root / "utils")):
        module = types.ModuleType(name)
        module.__path__ = [str(path)]
        sys.modules[name] = module
    try:
        import matplotlib  # noqa: F401  (only polyToMaskFast uses it; never called here)
    except ImportError:
        sys.modules["matplotlib"] = types.ModuleType("matplotlib")
    spline = importlib.import_module("dafne.utils.pySplineInterp")
    m2s = importlib.import_module("dafne.utils.mask_to_spline")
    roiman = importlib.import_module("dafne.utils.ROIManager")

    source = (root / "ui" / "MuscleSegmentation.py").read_text()
    lines = source.splitlines()
    namespace = {"np": np, "ndimage": ndimage}
    wanted = {"optimize", "optimizeKnot3"}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef) and node.name == "MuscleSegmentation":
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name in wanted:
                    text = "\n".join(lines[item.lineno - 1 : item.end_lineno])
                    exec(compile(textwrap.dedent(text), "MuscleSegmentation.py", "exec"), namespace)
    missing = wanted - set(namespace)
    if missing:
        raise RuntimeError(f"methods not found in MuscleSegmentation.py: {missing}")

    class Host:
        def __init__(self, image, roi):
            self.image = image
            self.roi = roi

        def getCurrentROI(self):
            return self.roi

        def reblit(self):
            pass

    Host.optimize = namespace["optimize"]
    Host.optimizeKnot3 = namespace["optimizeKnot3"]
    return spline, m2s, roiman, Host


class StableArgsort(types.ModuleType):
    """numpy, with argsort stable."""

    def __getattr__(self, name):
        return getattr(np, name)

    @staticmethod
    def argsort(a, *args, **kwargs):
        return np.argsort(a, kind="stable")


def bits(x):
    return struct.unpack("<Q", struct.pack("<d", float(x)))[0]


def knots_bits(knots):
    return [[bits(k[0]), bits(k[1])] for k in knots]


def runs(mask):
    flat = np.asarray(mask, dtype=bool).ravel().astype(np.int8)
    edges = np.diff(np.concatenate(([0], flat, [0])))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    return [[int(s), int(e - s)] for s, e in zip(starts, ends)]


def from_runs(rows, cols, mask_runs):
    flat = np.zeros(rows * cols, dtype=np.uint8)
    for start, length in mask_runs:
        flat[start : start + length] = 1
    return flat.reshape(rows, cols)


def main():
    request = json.loads(Path(sys.argv[1]).read_text())
    spline_mod, m2s, roiman, Host = load_original()
    Spline = spline_mod.SplineInterpROIClass

    def make(knots):
        s = Spline()
        s.knots = [(float(k[0]), float(k[1])) for k in knots]  # as __setstate__ does
        return s

    out = []
    quiet = io.StringIO()
    for case in request["cases"]:
        op = case["op"]
        rows, cols = case.get("rows", 0), case.get("cols", 0)
        with contextlib.redirect_stdout(quiet):
            if op == "curve":
                s = make(case["knots"])
                curve = s.getCurve()
                if curve is None:
                    out.append({"curve": None, "mask": [], "com": None})
                    continue
                curve = [[float(p[0]), float(p[1])] for p in curve]
                # an empty curve (knots closer than a pixel) has a NaN centre there
                com = s.getCenterOfMass() if curve else None
                mask = s.toMask((rows, cols), False)
                com = None if com is None else [bits(com[0]), bits(com[1])]
                out.append({"curve": curve, "mask": runs(mask), "com": com})
            elif op == "xor":
                pair = roiman.RoiAndMaskPair((rows, cols))
                pair.subroi_stack = [make(k) for k in case["contours"]]
                out.append({"mask": runs(pair.subroi_to_mask())})
            elif op == "add_knot":
                s = make(case["knots"])
                index = s.addKnot((float(case["point"][0]), float(case["point"][1])))
                out.append({"index": int(index), "knots": knots_bits(s.knots)})
            elif op == "move_center_to":
                s = make(case["knots"])
                s.moveCenterTo(tuple(case["center"]))
                out.append({"knots": knots_bits(s.knots)})
            elif op == "rotate":
                s = make(case["knots"])
                s.rotateByAngle(case["angle"])
                out.append({"knots": knots_bits(s.knots)})
            elif op == "simplify":
                plain = make(case["knots"]).getSimplifiedSpline().knots
                # The closest pair of knots always ties in the crowding score and numpy's default
                # argsort orders ties by build and CPU; the stable order is the reproducible one.
                spline_mod.np = StableArgsort("numpy")
                try:
                    stable = make(case["knots"]).getSimplifiedSpline().knots
                finally:
                    spline_mod.np = np
                out.append({"knots": knots_bits(stable), "knots_default_argsort": knots_bits(plain)})
            elif op == "snap":
                s = make(case["knots"])
                # the mask the window caches when it draws the slice's masks
                s.toMask((rows, cols), False)
                image = np.asarray(case["image"], dtype=np.float32).reshape(rows, cols)
                Host(image, s).optimize()
                out.append({"knots": knots_bits(s.knots)})
            elif op == "trace":
                mask = from_runs(rows, cols, case["mask"])
                splines = m2s.mask_to_splines(mask, case["precision"])
                pair = roiman.RoiAndMaskPair((rows, cols))
                pair.subroi_stack = splines
                round_trip = pair.subroi_to_mask()
                spline_mod.np = StableArgsort("numpy")
                try:
                    stable = m2s.mask_to_splines(mask, case["precision"])
                finally:
                    spline_mod.np = np
                pair = roiman.RoiAndMaskPair((rows, cols))
                pair.subroi_stack = stable
                out.append(
                    {
                        "contours_stable_argsort": [knots_bits(s.knots) for s in stable],
                        "round_trip": runs(round_trip),
                        "round_trip_stable_argsort": runs(pair.subroi_to_mask()),
                    }
                )
            else:
                raise ValueError(f"unknown operation {op}")
    Path(sys.argv[2]).write_text(json.dumps({"results": out}))


if __name__ == "__main__":
    main()
