"""Who published a team-store entry: Ed25519 signatures over its sealed manifest.

A team store is code: an entry holds a compiled `.so` inside a `.pt2`, or the C++ runner itself,
so a reader must know who wrote it before it loads a byte. Only trusted writers (CI on the default
branch) hold a private key; every reader is given the public keys it trusts and nothing else.
A manifest names its kind and key, the size and SHA-256 of every file and the `meta` a verdict
reads, and the signature covers all of it: an entry copied to another key, a file swapped or one
digit of meta edited fails the check before anything is fetched.

Keys travel as text: a private key as PKCS#8 PEM (a file, or the PEM itself in an environment
variable such as a CI secret), a public key as `ed25519:<base64 of the 32 raw bytes>`, the form
`inferencecheck cache keygen` prints. `cryptography` (the `[remote]` extra) does the arithmetic.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_inferencecheck.errors import InferenceCheckError

PREFIX = "ed25519:"
_INSTALL = "install the remote extra: pip install 'pytest-inferencecheck[remote]'"


def _crypto() -> Any:
    try:
        from cryptography.hazmat.primitives.asymmetric import ed25519  # noqa: PLC0415 - the optional [remote] extra
    except ImportError:
        raise InferenceCheckError(f"signing team-store entries needs `cryptography`: {_INSTALL}"
                                  ) from None
    return ed25519


def canonical(manifest: dict[str, Any]) -> bytes:
    """The bytes a signature covers: the manifest as sorted, compact JSON."""
    return json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True)
class PublicKey:
    """A public key a reader trusts, as text and as the key object."""

    text: str
    key: Any

    def verifies(self, signature: bytes, data: bytes) -> bool:
        """Whether `signature` over `data` is this key's."""
        from cryptography.exceptions import InvalidSignature  # noqa: PLC0415 - the optional [remote] extra

        try:
            self.key.verify(signature, data)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class SigningKey:
    """A writer's private key and the public key readers are given for it."""

    key: Any
    public: PublicKey

    def sign(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """The envelope a team store holds: the manifest, its signature and the signer."""
        signature = self.key.sign(canonical(manifest))
        return {"manifest": manifest, "signer": self.public.text,
                "signature": base64.b64encode(signature).decode()}


def generate() -> tuple[str, str]:
    """A new key pair: (the private key as PEM, the public key as `ed25519:...`)."""
    ed25519 = _crypto()
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415 - the optional [remote] extra

    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return pem, _public_text(key.public_key())


def _public_text(public: Any) -> str:
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415 - the optional [remote] extra

    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return PREFIX + base64.b64encode(raw).decode()


def load_signing_key(value: str, source: str) -> SigningKey:
    """A private key from PEM text or a PEM file's path; a usage error naming `source`."""
    _crypto()
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415 - the optional [remote] extra
    from cryptography.hazmat.primitives.asymmetric import ed25519  # noqa: PLC0415 - the optional [remote] extra

    text = value.strip()
    if not text.startswith("-----BEGIN"):
        path = Path(text).expanduser()
        try:
            text = path.read_text()
        except OSError as exc:
            raise InferenceCheckError(
                f"the team store's signing key from {source} cannot be read ({exc.strerror or exc}"
                f": {path}); give the path of the PEM file `inferencecheck cache keygen` wrote, "
                "or the PEM itself (a CI secret)") from None
        if os.name == "posix" and path.stat().st_mode & 0o077:
            raise InferenceCheckError(
                f"the team store's signing key {path} (from {source}) may be read by other users "
                f"(mode {path.stat().st_mode & 0o777:o}): whoever reads it can publish code "
                f"every reader runs; `chmod 600 {path}`")
    try:
        key = serialization.load_pem_private_key(text.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise InferenceCheckError(f"the team store's signing key from {source} is not an "
                                  f"unencrypted PEM private key ({exc})") from None
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise InferenceCheckError(f"the team store's signing key from {source} is not an Ed25519 "
                                  "key; make one with `inferencecheck cache keygen`")
    text_public = _public_text(key.public_key())
    return SigningKey(key, PublicKey(text_public, key.public_key()))


def parse_public_key(text: str, source: str) -> PublicKey:
    """One `ed25519:<base64>` public key; a usage error naming `source`."""
    ed25519 = _crypto()
    text = text.strip()
    try:
        if not text.startswith(PREFIX):
            raise ValueError("it does not start with 'ed25519:'")
        raw = base64.b64decode(text[len(PREFIX):], validate=True)
        return PublicKey(text, ed25519.Ed25519PublicKey.from_public_bytes(raw))
    except (ValueError, binascii.Error) as exc:
        raise InferenceCheckError(
            f"{text[:60]!r} from {source} is not a trusted key ({exc}): give the "
            "'ed25519:...' line `inferencecheck cache keygen` prints, or a file of them") from None


def load_trusted(items: tuple[str, ...], source: str) -> tuple[PublicKey, ...]:
    """Public keys from `ed25519:...` texts or files holding one per line (`#` comments)."""
    keys: list[PublicKey] = []
    for item in items:
        item = item.strip()
        if not item:
            continue
        if item.startswith(PREFIX):
            keys.append(parse_public_key(item, source))
            continue
        path = Path(item).expanduser()
        try:
            lines = path.read_text().splitlines()
        except OSError as exc:
            raise InferenceCheckError(
                f"trusted keys {item!r} from {source}: neither an 'ed25519:...' key nor a "
                f"readable file ({exc.strerror or exc})") from None
        keys += [parse_public_key(line.split("#", 1)[0], f"{path}, line {n}")
                 for n, line in enumerate(lines, 1) if line.split("#", 1)[0].strip()]
    return tuple(keys)


def verify(envelope: Any, trusted: tuple[PublicKey, ...]) -> dict[str, Any]:
    """The manifest an envelope carries, when a trusted key signed it; else ValueError saying
    why (unsigned, signed by a key this reader does not trust, or a bad signature)."""
    if not isinstance(envelope, dict) or not isinstance(envelope.get("manifest"), dict):
        raise ValueError("it is not a signed manifest")
    signer, signature = envelope.get("signer"), envelope.get("signature")
    if not signer or not signature:
        raise ValueError("it is unsigned")
    key = next((k for k in trusted if k.text == signer), None)
    if key is None:
        raise ValueError(f"it is signed by {str(signer)[:60]}, a key this reader does not trust")
    try:
        raw = base64.b64decode(str(signature), validate=True)
    except (ValueError, binascii.Error):
        raise ValueError("its signature is not base64") from None
    if not key.verifies(raw, canonical(envelope["manifest"])):
        raise ValueError("its signature does not match its manifest (edited after signing)")
    return envelope["manifest"]
