"""Renderings of `CheckResult`s: one module per output format, all from the same objects.
A report written to a file is a `base.FileReport` its module defines (`REPORT`); `files` lists
them, and the end of a run writes those the settings ask for."""
