#!/usr/bin/env python3
"""How well a pelvis store's warped twin lines up with its image, between the
landmarks as well as at them: block matching of the image against the flipped
image carried by the stored warp, as AASN's twin branch sees it.

For every 16x16 block (stride 8) whose edges are strong (bone outlines), the
integer shift in [-6, 6]^2 with the highest normalised cross-correlation
between the image's block and the warped twin's is the local misalignment.
Prints one row per store: the shift's median, mean and 90th percentile in
pixels, the share of blocks off by 2 px or more, and the mean |I - warped twin|
(intensities in [0, 1]).

    .venv/bin/python bench/twin_alignment.py STORE.h5 [STORE.h5 ...] [--images 40]

A phantom's landmark error is read off the store's source line
(`fracsweep synth pelvis --landmark-error-mm`). The warp is applied as the
trainer applies it (trainer/aasn.cpp, align_to): the stored grid upsampled
bilinearly, then grid_sample, both with align_corners=False. Needs numpy,
h5py and torch (`scripts/setup.sh --with-bench`).
"""
import argparse
import re

import h5py
import numpy as np
import torch
import torch.nn.functional as F

BLOCK, STEP, RADIUS = 16, 8, 6
MIN_EDGE, MIN_NCC = 0.06, 0.5  # a block with bone edges; a match worth counting


def warped_twins(f, n):
    images = torch.from_numpy(f["images"][:n].astype(np.float32) / 255)[:, None]
    flipped = torch.from_numpy(f["flipped"][:n].astype(np.float32) / 255)[:, None]
    grid = torch.from_numpy(f["warp"][:n])
    h, w = images.shape[2:]
    full = F.interpolate(grid.permute(0, 3, 1, 2), size=(h, w), mode="bilinear",
                         align_corners=False).permute(0, 2, 3, 1)
    twins = F.grid_sample(flipped, full, mode="bilinear", padding_mode="zeros",
                          align_corners=False)
    return images[:, 0].numpy(), twins[:, 0].numpy()


def edge_strength(a):
    gx = np.abs(a[1:-1, 2:] - a[1:-1, :-2])
    gy = np.abs(a[2:, 1:-1] - a[:-2, 1:-1])
    return np.pad(gx + gy, 1)


def best_shift(a_block, twin, y, x):
    """The shift (dx, dy) of the twin that matches a_block best, and its NCC."""
    pa = a_block - a_block.mean()
    best, best_score = (0, 0), -np.inf
    for dy in range(-RADIUS, RADIUS + 1):
        for dx in range(-RADIUS, RADIUS + 1):
            pb = twin[y + dy:y + dy + BLOCK, x + dx:x + dx + BLOCK]
            pb = pb - pb.mean()
            den = np.sqrt((pa * pa).sum() * (pb * pb).sum())
            if den > 0 and (pa * pb).sum() / den > best_score:
                best, best_score = (dx, dy), (pa * pb).sum() / den
    return best, best_score


def shifts(image, twin):
    h, w = image.shape
    edges = edge_strength(image)
    out = []
    lo = RADIUS + 1
    for y in range(lo, h - BLOCK - lo, STEP):
        for x in range(lo, w - BLOCK - lo, STEP):
            if edges[y:y + BLOCK, x:x + BLOCK].mean() < MIN_EDGE:
                continue
            (dx, dy), score = best_shift(image[y:y + BLOCK, x:x + BLOCK], twin, y, x)
            if score >= MIN_NCC:
                out.append(np.hypot(dx, dy))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("stores", nargs="+")
    ap.add_argument("--images", type=int, default=40, help="the first N images of each store")
    args = ap.parse_args()
    print(f"first {args.images} images of each store; {BLOCK}x{BLOCK} blocks with bone edges,"
          f" shifts up to {RADIUS} px\n")
    print("| store | landmark error (mm) | blocks | shift median (px) | mean | p90 |"
          " share >= 2 px | mean abs(I - twin) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for path in args.stores:
        with h5py.File(path, "r") as f:
            source = f.attrs.get("source", b"").decode()
            images, twins = warped_twins(f, args.images)
        error = re.search(r"landmark_error_mm=([0-9.]+)", source)
        mags = np.array([m for a, t in zip(images, twins) for m in shifts(a, t)])
        print(f"| {path} | {error.group(1) if error else '?'} | {len(mags)} |"
              f" {np.median(mags):.2f} | {mags.mean():.2f} | {np.percentile(mags, 90):.2f} |"
              f" {np.mean(mags >= 2):.2f} | {np.abs(images - twins).mean():.4f} |")


if __name__ == "__main__":
    main()
