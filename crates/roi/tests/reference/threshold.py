#!/usr/bin/env python3
"""Reference results for crates/roi/tests/threshold.rs, computed with SimpleITK exactly as the
original Dafne's Auto Threshold tool does (dafne/ui/MuscleSegmentation.py maskAutoThreshold and
dafne_dl/common/biascorrection.py biascorrection_image):

    image = slice * 600 / slice.max()  (float64, then float32)
    maskImage = sitk.OtsuThreshold(image, 0, 1, 200)
    corrector = sitk.N4BiasFieldCorrectionImageFilter(); iterations [50] * 8
    output = corrector.Execute(image, maskImage)
    threshold_mask = sitk.OtsuThreshold(output, 0, 1, 200)

    threshold.py DIR

Reads every DIR/<case>.in.npy (float32, rows x cols). For every case it writes
<case>.otsu.npy (float64 [threshold] of sitk.OtsuThreshold(input, 0, 1, 200)) and
<case>.otsu_mask.npy (uint8). Cases named n4_* also get <case>.n4_mask.npy (the Otsu mask of
the scaled image), <case>.n4.npy (float32 N4 output), <case>.auto.npy (uint8 final mask) and
<case>.n4_seconds.npy (float64 [seconds of corrector.Execute]). Cases whose name contains
"phantom" also get <case>.n4_default.npy: N4 with SimpleITK's default settings (4 levels).
"""
import pathlib
import sys
import time

try:
    import numpy as np
    import SimpleITK as sitk
except ImportError as e:  # the Rust test shows this line
    sys.exit(f"reference libraries missing ({e}); install them with "
             "`.venv/bin/pip install -r tests/reference/requirements.txt` (scripts/setup.sh --test)")

BINS = 200


def otsu(image):
    f = sitk.OtsuThresholdImageFilter()
    f.SetInsideValue(0)
    f.SetOutsideValue(1)
    f.SetNumberOfHistogramBins(BINS)
    out = f.Execute(image)
    return f.GetThreshold(), sitk.GetArrayFromImage(out).astype(np.uint8)


def main():
    d = pathlib.Path(sys.argv[1])
    inputs = sorted(d.glob("*.in.npy"))
    if not inputs:
        sys.exit(f"no *.in.npy inputs in {d}")
    for path in inputs:
        case = path.name[: -len(".in.npy")]
        out = lambda what: d / f"{case}.{what}.npy"  # noqa: E731
        data = np.load(path)
        t, m = otsu(sitk.GetImageFromArray(data.astype(np.float32)))
        np.save(out("otsu"), np.array([t], dtype=np.float64))
        np.save(out("otsu_mask"), m)
        if not case.startswith("n4_"):
            continue
        image = data.astype(np.float64)
        image = image * 600 / image.max()
        image = sitk.Cast(sitk.GetImageFromArray(image), sitk.sitkFloat32)
        mask_image = sitk.OtsuThreshold(image, 0, 1, BINS)
        corrector = sitk.N4BiasFieldCorrectionImageFilter()
        corrector.SetMaximumNumberOfIterations([50] * 8)
        start = time.perf_counter()
        output = corrector.Execute(image, mask_image)
        seconds = time.perf_counter() - start
        corrected = sitk.GetArrayFromImage(output)
        final = sitk.GetArrayFromImage(
            sitk.OtsuThreshold(sitk.GetImageFromArray(corrected), 0, 1, BINS))
        np.save(out("n4_mask"), sitk.GetArrayFromImage(mask_image).astype(np.uint8))
        np.save(out("n4"), corrected.astype(np.float32))
        np.save(out("auto"), final.astype(np.uint8))
        np.save(out("n4_seconds"), np.array([seconds], dtype=np.float64))
        if "phantom" in case:
            default = sitk.N4BiasFieldCorrectionImageFilter().Execute(image, mask_image)
            np.save(out("n4_default"), sitk.GetArrayFromImage(default).astype(np.float32))


if __name__ == "__main__":
    main()
