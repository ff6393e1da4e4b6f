"""Where a store keeps its entries: the layout version every path starts with, and the manifest
each entry holds (its schema: what a reader of this version accepts)."""

from __future__ import annotations

SCHEMA = "inferencecheck-store/2"  # /2: the manifest seals itself (`trust.seal`)
LAYOUT = "v1"  # bump when the layout or a key derivation changes: old entries are never read
MANIFEST = "manifest.json"
