"""Every knob: run-wide settings, per-check options, and `[tool.inferencecheck]` in pyproject.toml."""
