"""Fixtures for the real-nginx proxy tests: test PKI, a recording Face stand-in, the proxy.

Everything listens on loopback only, on ephemeral ports, and is stopped at teardown.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import pytest

# tests/proxy has no __init__.py (its modules and proxykit import as top-level names): put it and the
# repository root (for `tests.*`, e.g. tests.required_tools) on the path, whichever folder pytest runs.
sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[2])]

from proxykit.harness import FACE_HOST, LOOPBACK, MAIN_SETTINGS, RunningProxy, free_port  # noqa: E402
from proxykit.pki import TestCA  # noqa: E402
from proxykit.standin import FaceStandin  # noqa: E402

from components.proxy_settings import ProxySettings  # noqa: E402
from infra.proxy.runner import NGINX_FALLBACK_PATHS, ProxyProcess, ServeOptions  # noqa: E402
from tests.required_tools import missing_tool  # noqa: E402



def _nginx_available() -> bool:
    return bool(shutil.which("nginx")) or any(os.access(p, os.X_OK) for p in NGINX_FALLBACK_PATHS)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.proxy)


@pytest.fixture(autouse=True)
def _nginx_present() -> None:
    """Skip without nginx, unless CI or LIVENESS_REQUIRE_TOOLS make a missing nginx a failure."""
    if _nginx_available():
        return
    missing_tool("nginx not installed (apt-get install nginx-light)")


@dataclass
class Pki:
    ca: TestCA
    rogue_ca: TestCA
    face_cert: str
    face_key: str
    wrong_name_cert: str
    wrong_name_key: str
    rogue_cert: str
    rogue_key: str


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("pki")
    ca = TestCA(directory, "liveness")
    rogue = TestCA(directory, "rogue")
    face = ca.issue("face", [FACE_HOST])
    wrong = ca.issue("wrong-name", ["other-account.cognitiveservices.azure.com"])
    impostor = rogue.issue("impostor", [FACE_HOST])
    return Pki(ca, rogue, str(face.cert), str(face.key), str(wrong.cert), str(wrong.key),
               str(impostor.cert), str(impostor.key))


@pytest.fixture(scope="session")
def standin(pki: Pki) -> Iterator[FaceStandin]:
    server = FaceStandin(LOOPBACK, 0, pki.face_cert, pki.face_key).start()
    try:
        yield server
    finally:
        server.stop()


ProxyFactory = Callable[..., RunningProxy]


@pytest.fixture(scope="session")
def proxy_factory(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyFactory]:
    """Start a proxy: ``factory(settings, face_address, trusted_ca=None)``."""
    started: list[ProxyProcess] = []
    handles = []

    def start(settings: ProxySettings, face_address: str, *,
              trusted_ca: str | None = None) -> RunningProxy:
        logs = tmp_path_factory.mktemp("nginx-logs")
        out_path, err_path = logs / "stdout.log", logs / "stderr.log"
        out, err = open(out_path, "wb"), open(err_path, "wb")
        handles.extend([out, err])
        port, health = free_port(), free_port()
        options = ServeOptions(listen=f"{LOOPBACK}:{port}", health_listen=f"{LOOPBACK}:{health}",
                               face_address=face_address, trusted_ca=trusted_ca or str(pki.ca.cert_path))
        process = ProxyProcess(settings, options, stdout=out, stderr=err)
        started.append(process)
        process.start()
        return RunningProxy(process, LOOPBACK, port, health, out_path, err_path)

    try:
        yield start
    finally:
        for process in started:
            process.stop()
        for handle in handles:
            handle.close()


@pytest.fixture(scope="session")
def main_proxy(proxy_factory: ProxyFactory, standin: FaceStandin) -> RunningProxy:
    return proxy_factory(MAIN_SETTINGS, standin.address)


@pytest.fixture()
def upstream(standin: FaceStandin) -> Iterator[FaceStandin]:
    """The shared stand-in, emptied before the test and reset to the default answer after."""
    from proxykit.standin import default_response

    standin.reset()
    standin.respond = default_response
    try:
        yield standin
    finally:
        standin.respond = default_response
