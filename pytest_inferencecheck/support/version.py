"""The package's version, stated once: the wheel's metadata, `--version`, SARIF's tool version.
A leaf, so that the linter names its version without importing the package's API."""

__version__ = "0.1.0"
