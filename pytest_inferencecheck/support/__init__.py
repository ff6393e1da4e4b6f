"""Leaf helpers every layer may use, with no knowledge of targets, checks or results:
private torch names behind detection (`compat`), where code lives (`locations`), steady-state
timing, quieting torch's own output, and whole-or-nothing file writes."""
