"""Leaf helpers every layer may use, with no knowledge of targets, checks or results:
private torch names behind detection (`compat`), where code lives (`locations`), latency
samples summarised (`timing`), quieting torch's own output, whole-or-nothing file writes, sizes,
the JUnit XML document and GitHub's workflow commands (shared by the reports and the linter),
dataclasses to JSON and back (`records`: the result types are written once, as fields),
pytest's node ids read (`nodeids`), and the version. Only `compat` and `quiet` touch torch, and only when called."""
