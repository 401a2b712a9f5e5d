#!/usr/bin/env python3
"""Recompute lesson 9's metrics from its scores.csv, independently of the Swift code (lesson 9's oracle test).

    python3 scripts/check_metrics.py output/09-evaluation/scores.csv THRESHOLD

scores.csv has a header `score,label` and one test tumour a line: the probability of malignant and the label
(1 = malignant, the positive class). Prints one JSON object: auc, average_precision, and precision, recall,
f1, specificity, accuracy at THRESHOLD (positive when score >= THRESHOLD), computed with numpy; when
scikit-learn is importable, the same five from it under "sklearn". Exits 3 when numpy is missing.
"""
import json
import sys

try:
    import numpy as np
except ImportError:
    sys.exit(3)


def auc_mann_whitney(s, y):
    """P(a random positive scores above a random negative), ties counting one half: mid-ranks."""
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s))
    sorted_s = s[order]
    i = 0
    while i < len(s):  # average rank over each run of equal scores
        j = i
        while j + 1 < len(s) and sorted_s[j + 1] == sorted_s[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    p, n = int(y.sum()), int(len(y) - y.sum())
    return (ranks[y == 1].sum() - p * (p + 1) / 2) / (p * n)


def average_precision(s, y):
    """Mean over positives of the precision among all samples scoring at least as high (ties included)."""
    return float(np.mean([np.mean(y[s >= t]) for t in s[y == 1]]))


def main():
    path, threshold = sys.argv[1], float(sys.argv[2])
    data = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    s, y = data[:, 0], data[:, 1].astype(int)
    predicted = s >= threshold
    tp = int(np.sum(predicted & (y == 1))); fp = int(np.sum(predicted & (y == 0)))
    tn = int(np.sum(~predicted & (y == 0))); fn = int(np.sum(~predicted & (y == 1)))
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    out = {
        "auc": float(auc_mann_whitney(s, y)),
        "average_precision": average_precision(s, y),
        "precision": precision, "recall": recall, "f1": 2 * precision * recall / (precision + recall),
        "specificity": tn / (tn + fp), "accuracy": (tp + tn) / len(y),
    }
    try:
        from sklearn import metrics
        out["sklearn"] = {
            "auc": float(metrics.roc_auc_score(y, s)),
            "average_precision": float(metrics.average_precision_score(y, s)),
            "precision": float(metrics.precision_score(y, predicted.astype(int))),
            "recall": float(metrics.recall_score(y, predicted.astype(int))),
            "f1": float(metrics.f1_score(y, predicted.astype(int))),
        }
    except ImportError:
        pass
    print(json.dumps(out))


if __name__ == "__main__":
    main()
