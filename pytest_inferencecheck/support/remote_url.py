"""Which team-store URLs a run accepts: the schemes obstore serves. Validated where settings
are read (the linter's config reads them too, and never imports the store)."""

from __future__ import annotations

from pytest_inferencecheck.errors import InferenceCheckError

SCHEMES = ("s3", "s3a", "gs", "az", "azure", "abfs", "abfss", "file", "memory")


def check_url(url: str, source: str) -> str:
    """A remote URL with a scheme obstore serves; a usage error naming `source` otherwise."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in SCHEMES:
        raise InferenceCheckError(
            f"remote={url!r} from {source}: not a team-store URL; use s3://bucket/prefix (AWS, "
            "MinIO, R2, Ceph: endpoint and credentials from the AWS_* variables), gs://bucket, "
            "az://container, or file:///shared/folder")
    return url
