"""Check every example model on its deployment targets with the public `check()` API.

Each entry states the outcome the table predicts; the script prints every explanation and exits
non-zero if any outcome differs from the prediction.

    python examples/check_examples.py
"""

from __future__ import annotations

import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import models  # noqa: E402

from pytest_inferencecheck import check  # noqa: E402
from pytest_inferencecheck.reporters.text import explain  # noqa: E402

# (name, factory, inputs, target, options, expected outcome, expected row)
EXAMPLES = [
    ("cnn", models.SmallCNN, models.image_batch, "server-x86-python", {}, "passed", 3),
    ("bert", models.tiny_bert, models.token_ids, "server-x86-python", {}, "passed", 3),
    ("ranker", models.ScoredRanker, lambda: (torch.randn(4, 16),), "server-x86-python",
     {"uses": "aoti-python"}, "passed", 4),
    ("gpt2-cache", models.tiny_gpt2, models.token_ids, "server-x86-python", {}, "passed", 5),
    ("ranker", models.ScoredRanker, lambda: (torch.randn(4, 16),), "server-x86-cpp", {},
     "failed", 6),
    ("bert", models.tiny_bert, models.token_ids, "server-x86-cpp", {}, "passed", 6),
    ("cnn", models.SmallCNN, models.image_batch, "mobile-android", {}, "passed", 1),
    ("cnn", models.SmallCNN, models.image_batch, "edge", {"min_delegation": 0.5}, "passed", 2),
    ("gpt2-cache", models.tiny_gpt2, models.token_ids, "server-x86-cpp", {}, "failed", 6),
    ("cnn", models.SmallCNN, models.image_batch, "mac", {}, "passed", 8),
]


def main() -> int:
    """Run every example; return 0 when every outcome is the predicted one."""
    torch.manual_seed(0)
    surprises = 0
    for name, factory, inputs, target, options, outcome, row in EXAMPLES:
        start = time.perf_counter()
        result = check(factory(), inputs(), target, name=name, **options)
        print(explain(result))
        got_row = result.recommendation.row if result.recommendation else None
        ok = (result.outcome, got_row) == (outcome, row)
        surprises += not ok
        print(f"  expected {outcome} on row {row}: {'as predicted' if ok else 'SURPRISE'} "
              f"({time.perf_counter() - start:.1f}s)\n")
    print(f"{len(EXAMPLES) - surprises} as predicted, {surprises} surprises")
    return 1 if surprises else 0


if __name__ == "__main__":
    sys.exit(main())
