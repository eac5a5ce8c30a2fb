#!/usr/bin/env bash
# Fuzzes the DICOM, NIfTI, NumPy, legacy ROI (.p) and model (.model) readers for N seconds each
# (default 20), seeded with the real files of ../shared/data. Fails on any crash. -malloc_limit_mb is above 4 GiB because
# dicom-parser reserves an element's declared length (at most 4 GiB, virtual, freed when the read
# fails) before reading it; anything larger is still reported. cargo-fuzz needs nightly flags: the stable
# toolchain accepts them with RUSTC_BOOTSTRAP=1, so no second toolchain is needed.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-20}"
data="${DAFNE_TEST_DATA:-$PWD/../shared/data}"
export RUSTC_BOOTSTRAP=1
seed() {  # seed <target> <find args...>
  local dir="fuzz/corpus/$1"; shift
  mkdir -p "$dir"
  if [ -d "$data" ]; then
    find "$data" -type f -size -300k "$@" -exec cp -n {} "$dir/" \; 2>/dev/null || true
  fi
}
seed dicom \( -name '*.dcm' -o -path '*dicomdirtests*' \)
seed nifti \( -name '*.nii' -o -name '*.nii.gz' \)
seed npy -name '*.npy'
seed legacy_roi -path '*dafne-legacy/rois/*.p'
# The ROI files are bz2, whose CRCs almost every mutation breaks: seed the pickles inside too.
if command -v bzcat >/dev/null; then
  for f in fuzz/corpus/legacy_roi/*.p; do
    if [ -e "$f" ] && ! bzcat "$f" > "${f%.p}.pickle" 2>/dev/null; then rm -f "${f%.p}.pickle"; fi
  done
fi
# Model files (1.7 MB) are seeded whole, with a larger -max_len (a cut model is only a truncation
# error); the ROI pickles add the VM's other paths.
mkdir -p fuzz/corpus/legacy_model
find "$data" -type f -path '*dafne-legacy/models/*.model' -exec cp -n {} fuzz/corpus/legacy_model/ \; 2>/dev/null || true
cp -n fuzz/corpus/legacy_roi/*.pickle fuzz/corpus/legacy_model/ 2>/dev/null || true
for target in dicom nifti npy legacy_roi legacy_model; do
  echo "fuzz: $target for ${seconds}s"
  max_len=300000; [ "$target" = legacy_model ] && max_len=2000000
  cargo fuzz run --fuzz-dir fuzz "$target" "fuzz/corpus/$target" -- \
    -max_total_time="$seconds" -max_len="$max_len" -rss_limit_mb=2048 -malloc_limit_mb=4600 -timeout=10 -print_final_stats=1 2>&1 \
    | grep -E "stat::number_of_executed_units|Done|ERROR|panicked|SUMMARY|crash" || true
  # cargo fuzz exits non-zero on a crash; PIPESTATUS keeps that visible.
  [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "fuzz: $target found a crash (see fuzz/artifacts/$target)"; exit 1; }
done
