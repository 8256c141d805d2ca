"""Writes examples/predictions_vcf.csv: predictions of an imagined three-class
vertebra model (0 normal, 1 benign VCF, 2 malignant VCF) for 60 patients, with
the class imbalance of the TSCCN data (most vertebrae normal). Deterministic.

    /usr/bin/python3 examples/make_example.py
"""
import os

import numpy as np

rng = np.random.default_rng(7)
rows = ["id,patient,label,p0,p1,p2"]
n = 0
for p in range(60):
    vertebrae = rng.integers(10, 14)
    kind = rng.choice([1, 2], p=[136 / 239, 103 / 239])
    fractured = set(rng.choice(vertebrae, size=rng.integers(1, 4), replace=False).tolist())
    for v in range(vertebrae):
        label = kind if v in fractured else 0
        logits = rng.normal(0.0, 1.0, size=3)
        logits[label] += 2.2
        prob = np.exp(logits) / np.exp(logits).sum()
        rows.append(f"v{n:05d},P{p:03d},{label}," + ",".join(f"{x:.6f}" for x in prob))
        n += 1
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "predictions_vcf.csv")
with open(path, "w", newline="\n") as f:
    f.write("\n".join(rows) + "\n")
