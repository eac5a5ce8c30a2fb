"""Reference for dafne-ml's pixel weight maps: the original's `input_creation_mem` and
`calc_weight` (dafne-dl 2.0.2b2, dafne_dl/common/preprocess_train.py), logic copied line by
line, run by crates/ml/tests/train_weights.rs. A reference, not product code.

usage: pixel_weights.py DIR N DIM CLASSES BAND
  DIR/images.f32: N×DIM×DIM float32 (little-endian), DIR/labels.u8: N×DIM×DIM class indices;
  writes DIR/weights.f32 (N×DIM×DIM float32) and DIR/frequencies.txt.
"""
import math
import os
import sys

import numpy as np
from skimage.filters import threshold_otsu


def calc_weight(img, seg, av, freq, dim, band, ch):
    W = np.zeros((seg.shape[0], seg.shape[1]), dtype='float32')
    global_thresh = threshold_otsu(img)
    binary_global = img > global_thresh
    binary_mask = binary_global == 1.0
    maximum_l = min(3 * np.sqrt(band), seg.shape[0] - 1)
    n = seg.shape[0] - 1
    for i in range(seg.shape[0]):
        for j in range(seg.shape[1]):
            if binary_mask[i, j] > 0:
                h = 0
                k = 0
                d1 = 0
                d2 = 0
                aa = seg[i, j]
                l = 1
                while h != 1 or k != 1:
                    if h == 0:
                        if seg[max(i - l, 0), j] != aa and int(seg[max(i - l, 0), j] != 0):
                            d1 = l
                            h = 1
                            bb = seg[i - l, j]
                        if seg[min(i + l, n), j] != aa and int(seg[min(i + l, n), j]) != 0:
                            d1 = l
                            h = 1
                            bb = seg[min(i + l, n), j]
                        if seg[i, max(j - l, 0)] != aa and int(seg[i, max(j - l, 0)]) != 0:
                            d1 = l
                            h = 1
                            bb = seg[i, j - l]
                        if seg[i, min(j + l, n)] != aa and int(seg[i, min(j + l, n)]) != 0:
                            d1 = l
                            h = 1
                            bb = seg[i, min(j + l, n)]
                    if h == 1 and k == 0 and (
                        (seg[max(i - l, 0), j] != aa and seg[max(i - l, 0), j] != bb and int(seg[max(i - l, 0), j] != 0))
                        or (seg[min(i + l, n), j] != aa and seg[min(i + l, n), j] != bb and int(seg[min(i + l, n), j]) != 0)
                        or (seg[i, max(j - l, 0)] != aa and seg[i, max(j - l, 0)] != bb and int(seg[i, max(j - l, 0)]) != 0)
                        or (seg[i, min(j + l, n)] != aa and seg[i, min(j + l, n)] != bb and int(seg[i, min(j + l, n)]) != 0)
                    ):
                        d2 = l
                        k = 1
                    if l >= maximum_l:
                        d1 = seg.shape[0]
                        h = 1
                        k = 1
                    l += 1
                W[i, j] = 10 * math.exp(-((d1 + d2) ** 2) / (2 * band))
            W[i, j] = W[i, j] + av / freq[int(seg[i, j])]
    return W


def calc_aggregated_masks_and_remove_overlap(masks):
    ch = masks.shape[2]
    cumulated_mask = masks[:, :, 0]
    aggregated_mask = np.zeros_like(cumulated_mask)
    for mask_dim in range(1, ch):
        masks[:, :, mask_dim] = np.logical_and(masks[:, :, mask_dim], np.logical_not(cumulated_mask))
        aggregated_mask += mask_dim * masks[:, :, mask_dim]
        cumulated_mask = np.logical_or(cumulated_mask, masks[:, :, mask_dim])
    masks[:, :, 0] = np.logical_not(cumulated_mask)
    return aggregated_mask, masks


def input_creation_mem(image_list, mask_list, band):
    dim = mask_list[0].shape[0]
    ch = mask_list[0].shape[2]
    aggregated_masks = []
    for masks in mask_list:
        agg, _ = calc_aggregated_masks_and_remove_overlap(masks)
        aggregated_masks.append(agg)
    classes = [0] * ch
    images_containing_class = [0] * ch
    for seg in aggregated_masks:
        for class_ in range(ch):
            n_pixels = (seg == float(class_)).sum()
            if n_pixels > 0:
                classes[class_] += n_pixels
                images_containing_class[class_] += dim ** 2
    frequencies = []
    for cla, ima in zip(classes, images_containing_class):
        frequencies.append(0 if cla == 0 else cla / ima)
    av = sum(frequencies) / ch
    weights = [
        calc_weight(img, seg, av, frequencies, dim, band, ch)
        for img, seg in zip(image_list, aggregated_masks)
    ]
    return weights, frequencies, av


def main():
    folder, n, dim, ch, band = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
    images = np.fromfile(os.path.join(folder, 'images.f32'), dtype='<f4').reshape(n, dim, dim)
    labels = np.fromfile(os.path.join(folder, 'labels.u8'), dtype=np.uint8).reshape(n, dim, dim)
    image_list = [images[k].astype(np.float64) for k in range(n)]
    # As common_input_process_split builds them: one channel per label, background channel 0 empty.
    mask_list = []
    for k in range(n):
        masks = np.zeros((dim, dim, ch))
        for c in range(1, ch):
            masks[:, :, c] = labels[k] == c
        mask_list.append(masks)
    weights, frequencies, av = input_creation_mem(image_list, mask_list, band)
    np.stack(weights).astype('<f4').tofile(os.path.join(folder, 'weights.f32'))
    with open(os.path.join(folder, 'frequencies.txt'), 'w') as f:
        f.write(' '.join(repr(float(x)) for x in frequencies) + '\n' + repr(float(av)) + '\n')


if __name__ == '__main__':
    main()
