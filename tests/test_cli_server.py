"""`tunepipe server`: a real Prefect server on 127.0.0.1, its database under the project."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.prefect_server import free_port, wait_until_healthy


@pytest.mark.slow
def test_server_listens_on_loopback_with_a_project_local_home(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "PREFECT_UI_ENABLED": "false", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_HOME", None)
    env.pop("PREFECT_API_URL", None)
    tunepipe = Path(sys.executable).with_name("tunepipe")
    log = tmp_path / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(tunepipe), "server", "--port", str(port)], cwd=tmp_path, env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}/api", proc, log)
        assert f"export PREFECT_API_URL=http://127.0.0.1:{port}/api" in log.read_text()
        assert (tmp_path / ".prefect" / "prefect.db").is_file()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
