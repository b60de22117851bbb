"""tcp:// addresses with mTLS, against a buildkitd that the test starts with its own certificates."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import time

import pytest

from archon.engine.buildkit.client import Client
from archon.engine.buildkit.connect import DaemonUnavailableError, TLSConfig, connect

pytestmark = [pytest.mark.daemon, pytest.mark.buildkitd]


def _buildkitd_binary() -> str | None:
    candidates = [os.environ.get("ARCHON_BUILDKITD_BINARY"), shutil.which("buildkitd")]
    cache = os.environ.get("ARCHON_CACHE", os.path.expanduser("~/.cache/archon-dev"))
    candidates.extend(sorted(glob.glob(os.path.join(cache, "bin", "buildkitd-*")), reverse=True))
    return next((path for path in candidates if path and os.access(path, os.X_OK)), None)


def _openssl(*args: str, cwd) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _make_certificates(folder) -> None:
    """Create a CA, a server certificate for 127.0.0.1 and the name "buildkitd", and a client certificate."""
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=archon-test-ca",
             "-keyout", "ca.key", "-out", "ca.pem", cwd=folder)
    (folder / "server.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:buildkitd\nextendedKeyUsage=serverAuth\n")
    (folder / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for name in ("server", "client"):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
                 "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=folder)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                 "-days", "1", "-extfile", f"{name}.ext", "-out", f"{name}.pem", cwd=folder)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def tls_daemon(tmp_path_factory):
    binary = _buildkitd_binary()
    if binary is None:
        pytest.skip("no buildkitd binary: set ARCHON_BUILDKITD_BINARY or run scripts/setup")
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to create test certificates: apt-get install openssl")
    if os.geteuid() != 0:
        pytest.skip("buildkitd with the runc worker needs root")

    folder = tmp_path_factory.mktemp("tls")
    _make_certificates(folder)
    port = _free_port()
    log = open(folder / "buildkitd.log", "wb")
    process = subprocess.Popen(
        [binary, "--root", str(folder / "root"), "--addr", f"tcp://127.0.0.1:{port}",
         "--tlscacert", str(folder / "ca.pem"), "--tlscert", str(folder / "server.pem"),
         "--tlskey", str(folder / "server.key"), "--oci-worker-binary", "runc"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None:
                    pytest.fail(f"buildkitd exited with {process.returncode}; see {folder / 'buildkitd.log'}")
                time.sleep(0.2)
        yield f"tcp://127.0.0.1:{port}", folder
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


def test_tcp_mtls_lists_workers(tls_daemon):
    address, folder = tls_daemon
    tls = TLSConfig(str(folder / "ca.pem"), str(folder / "client.pem"), str(folder / "client.key"), "buildkitd")

    with connect(address, tls=tls, timeout=20) as connection:
        workers = Client(connection).list_workers()

    assert connection.describe().startswith("buildkitd")
    assert workers


def test_tcp_without_client_certificate_fails(tls_daemon):
    address, folder = tls_daemon

    with pytest.raises(DaemonUnavailableError) as caught:
        connect(address, tls=TLSConfig(ca=str(folder / "ca.pem"), server_name="buildkitd"), timeout=5)

    assert address in str(caught.value)
