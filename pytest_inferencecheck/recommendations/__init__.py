"""PyTorch's table and the decision it implies: rows, targets, technologies, partitioners.

Pure data and pure functions: no torch, importable everywhere (the linter, `inferencecheck table`)."""
