"""A team store for tests: a real S3 server in the test process (moto's ThreadedMotoServer: real
HTTP and the S3 API, on loopback), a bucket, a writer's key pair, and a proxy in front of the
server that injects the faults a real remote has (down, slow, 403, 500, a full bucket, a
connection cut) on request, so that the code under test talks real HTTP through all of them."""

from __future__ import annotations

import contextlib
import http.client
import http.server
import logging
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

BUCKET = "team"


@dataclass
class S3:
    """A running S3 server with one bucket, and the environment that reaches it."""

    endpoint: str
    env: dict[str, str]
    server: object

    def url(self, prefix: str = "ic") -> str:
        return f"s3://{BUCKET}/{prefix}"

    def keys(self, prefix: str = "ic") -> list[str]:
        """Every object under the prefix, as boto3 lists it (not our client)."""
        import boto3

        client = boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                              aws_access_key_id="test", aws_secret_access_key="test")
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
        return sorted(o["Key"] for page in pages for o in page.get("Contents", []))

    def put(self, key: str, body: bytes) -> None:
        """Write an object as an attacker with write access to the bucket would."""
        import boto3

        boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                     aws_access_key_id="test", aws_secret_access_key="test").put_object(
            Bucket=BUCKET, Key=key, Body=body)

    def get(self, key: str) -> bytes:
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id="test", aws_secret_access_key="test").get_object(
            Bucket=BUCKET, Key=key)["Body"].read()


def env_for(endpoint: str) -> dict[str, str]:
    return {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": endpoint}


@contextlib.contextmanager
def s3_server() -> Iterator[S3]:
    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # a line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    # moto's backends are global to the process: start from an empty server every time
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"))
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                 aws_access_key_id="test", aws_secret_access_key="test").create_bucket(
        Bucket=BUCKET)
    try:
        yield S3(endpoint, env_for(endpoint), server)
    finally:
        server.stop()


def keypair(folder: Path, name: str = "writer") -> tuple[Path, str]:
    """A private key file (mode 600) and its public key text, as `cache keygen` makes them."""
    from pytest_inferencecheck.store.signing import generate

    pem, public = generate()
    path = folder / f"{name}.pem"
    path.write_text(pem)
    path.chmod(0o600)
    return path, public


@dataclass
class Faults:
    """What the proxy does: `mode` is one of pass, down (the connection is cut), 500, 403,
    slow (never answers until the proxy closes: only the client's own timeout ends a request),
    full (a PUT gets 507, MinIO's full disk); it applies
    from request number `after` on (counted from 0). `requests` counts what reached it."""

    mode: str = "pass"
    after: int = 0
    released: threading.Event = field(default_factory=threading.Event)  # set on close
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class FaultyProxy:
    """A loopback HTTP proxy in front of `upstream` that injects `faults`."""

    def __init__(self, upstream: str, faults: Faults) -> None:
        self.faults = faults
        host, port = upstream.removeprefix("http://").split(":")
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _serve(self) -> None:
                size = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(size) if size else b""
                with proxy.faults.lock:
                    n = proxy.faults.requests
                    proxy.faults.requests += 1
                mode = proxy.faults.mode if n >= proxy.faults.after else "pass"
                if mode == "down":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if mode == "slow":
                    proxy.faults.released.wait()  # stalled until the test is over
                if mode in ("500", "403") or (mode == "full" and self.command == "PUT"):
                    status = {"500": 500, "403": 403, "full": 507}[mode]
                    text = (f"<Error><Code>{'AccessDenied' if status == 403 else 'Internal'}"
                            f"</Code><Message>injected {status}</Message></Error>").encode()
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(text)))
                    self.end_headers()
                    self.wfile.write(text)
                    return
                conn = http.client.HTTPConnection(host, int(port), timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                headers["Host"] = f"{host}:{port}"
                conn.request(self.command, self.path, body=body, headers=headers)
                reply = conn.getresponse()
                data = reply.read()
                self.send_response(reply.status)
                for k, v in reply.getheaders():
                    if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                conn.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _serve

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.faults.released.set()
        self.server.shutdown()
        self.server.server_close()
