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
    threshold.py DIR --time CASE REPEATS
    threshold.py DIR --png SOURCE NAME

Reads every DIR/<case>.in.npy (float32, rows x cols). For every case it writes
<case>.otsu.npy (float64 [threshold] of sitk.OtsuThreshold(input, 0, 1, 200)) and
<case>.otsu_mask.npy (uint8). Cases named n4_* also get <case>.n4_mask.npy (the Otsu mask of
the scaled image), <case>.n4.npy (float32 N4 output), <case>.auto.npy (uint8 final mask) and
<case>.n4_seconds.npy (float64 [seconds of corrector.Execute]). Cases whose name contains
"phantom" also get <case>.n4_default.npy: N4 with SimpleITK's default settings (4 levels)
and the tissue mask (scaled image > 12) instead of Otsu's.
With --time, only N4 of DIR/CASE.in.npy runs, REPEATS times, and the fastest run's seconds are
printed as `seconds threads seconds`: with SimpleITK's default number of threads, then with
one thread. With --png, the
first channel of the PNG file SOURCE is written as DIR/NAME.png.npy (float32), an input for the
Rust side.
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
TISSUE = 12.0  # the phantom's tissue mask on the image scaled to 600


def otsu(image):
    f = sitk.OtsuThresholdImageFilter()
    f.SetInsideValue(0)
    f.SetOutsideValue(1)
    f.SetNumberOfHistogramBins(BINS)
    out = f.Execute(image)
    return f.GetThreshold(), sitk.GetArrayFromImage(out).astype(np.uint8)


def n4_input(data):
    image = data.astype(np.float64)
    image = image * 600 / image.max()
    image = sitk.Cast(sitk.GetImageFromArray(image), sitk.sitkFloat32)
    return image, sitk.OtsuThreshold(image, 0, 1, BINS)


def n4(image, mask_image):
    corrector = sitk.N4BiasFieldCorrectionImageFilter()
    corrector.SetMaximumNumberOfIterations([50] * 8)
    start = time.perf_counter()
    output = corrector.Execute(image, mask_image)
    return output, time.perf_counter() - start


def main():
    d = pathlib.Path(sys.argv[1])
    if len(sys.argv) == 5 and sys.argv[2] == "--time":
        image, mask_image = n4_input(np.load(d / f"{sys.argv[3]}.in.npy"))
        repeats = range(int(sys.argv[4]))
        threads = sitk.ProcessObject.GetGlobalDefaultNumberOfThreads()
        default_threads = min(n4(image, mask_image)[1] for _ in repeats)
        sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(1)
        one_thread = min(n4(image, mask_image)[1] for _ in repeats)
        print(default_threads, threads, one_thread)
        return
    if len(sys.argv) == 5 and sys.argv[2] == "--png":
        data = sitk.GetArrayFromImage(sitk.ReadImage(sys.argv[3]))
        if data.ndim == 3:
            data = data[..., 0]
        np.save(d / f"{sys.argv[4]}.png.npy", data.astype(np.float32))
        return
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
        image, mask_image = n4_input(data)
        output, seconds = n4(image, mask_image)
        corrected = sitk.GetArrayFromImage(output)
        final = sitk.GetArrayFromImage(
            sitk.OtsuThreshold(sitk.GetImageFromArray(corrected), 0, 1, BINS))
        np.save(out("n4_mask"), sitk.GetArrayFromImage(mask_image).astype(np.uint8))
        np.save(out("n4"), corrected.astype(np.float32))
        np.save(out("auto"), final.astype(np.uint8))
        np.save(out("n4_seconds"), np.array([seconds], dtype=np.float64))
        if "phantom" in case:
            tissue = sitk.Cast(image > TISSUE, sitk.sitkUInt8)
            default = sitk.N4BiasFieldCorrectionImageFilter().Execute(image, tissue)
            np.save(out("n4_default"), sitk.GetArrayFromImage(default).astype(np.float32))


if __name__ == "__main__":
    main()
