"""Renderings of `CheckResult`s: one module per output format, all from the same objects."""
