"""One Prefect home per project, and one local Prefect server shared by the commands of a run.

Every ``tunepipe`` command that runs a flow uses ``<project>/.prefect`` as Prefect's home, from
whatever folder it is started, and talks to this project's server: the one ``tunepipe server``
runs, or else one started on first need and shared by the later commands (the four stage
commands of a ``dvc repro`` start one server between them instead of a temporary one each). A
small supervisor process owns that server and stops it once no tunepipe command has used it for
``TUNEPIPE_SERVER_IDLE_SECONDS`` (default 300): long after the server recorded the last
command's events, which a temporary server stopped at the command's exit cut short (Prefect's
"Error flushing N events" tracebacks after a run whose trials came from the trial cache).

The user's own Prefect settings win: with ``PREFECT_API_URL`` set (in the environment or in the
active Prefect profile) nothing here applies; with ``PREFECT_HOME`` set, that is the home. With
``TUNEPIPE_PREFECT_SERVER=temporary`` each command starts Prefect's own temporary server, as
Prefect does by itself (no process outlives the command).

Execution machinery for the CLI, like threads.py: this module must not import Prefect, because
it sets the environment Prefect reads when it is imported.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import signal
import socket
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

import httpx
from filelock import FileLock

from tunepipe.errors import ConfigError

HOME_NAME = ".prefect"
STATE_FILE = "tunepipe-server.json"  # {"url", "pid"} of the server the project's commands use
LOCK_FILE = "tunepipe-server.lock"
CLIENTS_DIR = "tunepipe-clients"  # one file per running command, named by its pid
LOG_FILE = "tunepipe-server.log"
IDLE_VARIABLE = "TUNEPIPE_SERVER_IDLE_SECONDS"
# "temporary": every command starts Prefect's own temporary server (no background process).
MODE_VARIABLE = "TUNEPIPE_PREFECT_SERVER"
DEFAULT_IDLE_SECONDS = 300.0
STARTUP_TIMEOUT_SECONDS = 120.0  # a first start creates the database: over 20 s on a busy 2-core machine
# Starts of a server that died under a running command, per supervisor: beyond that, something
# kills it for a reason (memory), and the command's own retries end the run.
MAX_RESTARTS = 3


@dataclass(frozen=True)
class Choice:
    """Where a command's flows report.

    ``home`` None: the user's own Prefect settings apply, untouched. ``shared``: the project's
    server (else Prefect starts a temporary one for the command).
    """

    home: Path | None
    shared: bool
    reason: str


def project_dir(root: str | Path) -> Path:
    """The project folder of ``root``; a DVC experiment's temporary copy of the project
    (``<project>/.dvc/tmp/exps/<tmp>/``, where ``dvc queue`` runs stages) maps to the project."""
    path = Path(root).resolve()
    parts = path.parts
    for i in range(len(parts) - 3):
        if parts[i : i + 3] == (".dvc", "tmp", "exps"):
            return Path(*parts[:i])
    return path


def choose_home(root: str | Path, environ: dict[str, str], user_home: Path) -> Choice:
    """Which Prefect home and server the project's commands use (decided from ``environ`` and
    Prefect's profiles file; the user's explicit settings win)."""
    if environ.get("PREFECT_API_URL"):
        return Choice(None, False, "PREFECT_API_URL is set")
    profile_url = _profile_api_url(environ, user_home)
    if profile_url:
        return Choice(None, False, f"the active Prefect profile sets PREFECT_API_URL ({profile_url})")
    reason = "PREFECT_HOME is set" if environ.get("PREFECT_HOME") else "the project's Prefect home"
    mode = environ.get(MODE_VARIABLE, "project")
    if mode not in ("project", "temporary"):
        raise ConfigError(
            f"{MODE_VARIABLE} is '{mode}', but must be 'project' (one shared server per project) or "
            "'temporary' (Prefect's temporary server per command); unset it for the default"
        )
    shared = mode == "project"
    return Choice(server_home(root, environ), shared, reason)


def _profile_api_url(environ: dict[str, str], user_home: Path) -> str | None:
    """PREFECT_API_URL of the active profile in Prefect's profiles file, if any."""
    home = Path(environ.get("PREFECT_HOME") or user_home / HOME_NAME).expanduser()
    path = Path(environ.get("PREFECT_PROFILES_PATH") or home / "profiles.toml").expanduser()
    try:
        profiles = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return None
    active = environ.get("PREFECT_PROFILE") or profiles.get("active") or "ephemeral"
    url = profiles.get("profiles", {}).get(active, {}).get("PREFECT_API_URL")
    return str(url) if url else None


def use_project_server(root: str | Path) -> str | None:
    """Point this process (and the processes it starts) at the project's Prefect home and server.

    Returns the server's API URL, or None when the user's own Prefect settings apply or the
    server could not start (then Prefect starts its temporary one, as without tunepipe).
    """
    choice = choose_home(root, dict(os.environ), Path.home())
    if choice.home is None:
        return None
    os.environ["PREFECT_HOME"] = str(choice.home)
    if not choice.shared:
        return None
    try:
        url = ensure_server(choice.home)
    except ServerError as exc:
        print(f"tunepipe: warning: {exc}; this command uses a temporary Prefect server instead", file=sys.stderr)
        return None
    os.environ["PREFECT_API_URL"] = url
    return url


class ServerError(Exception):
    """The project's server did not start."""


def ensure_server(home: Path) -> str:
    """The API URL of ``home``'s running server, started first if there is none.

    This process is registered as a client for its lifetime, so the server is not stopped under it.
    """
    home.mkdir(parents=True, exist_ok=True)
    with FileLock(home / LOCK_FILE):
        _register_client(home, os.getpid())
        url = running_server(home)
        if url:
            return url
        return _start_server(home)


def running_server(home: Path) -> str | None:
    """The API URL in ``home``'s state file, if a server answers there with this very home."""
    try:
        url = json.loads((home / STATE_FILE).read_text())["url"]
    except (OSError, ValueError, KeyError):
        return None
    return url if _serves_home(url, home) else None


def server_home(root: str | Path, environ: dict[str, str]) -> Path:
    """The home of ``tunepipe server``: PREFECT_HOME if set, else the project's."""
    if environ.get("PREFECT_HOME"):
        return Path(environ["PREFECT_HOME"]).expanduser().resolve()
    return project_dir(root) / HOME_NAME


def local_url(host: str, port: int) -> str:
    """The API URL of a server bound to ``host``, as seen from this machine."""
    return f"http://{'127.0.0.1' if host in ('0.0.0.0', '::', '') else host}:{port}/api"


def record_server(home: Path, url: str, pid: int) -> None:
    """Name the server the project's commands use (``tunepipe server`` records itself)."""
    home.mkdir(parents=True, exist_ok=True)
    tmp = home / f".{STATE_FILE}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps({"url": url, "pid": pid}))
    os.replace(tmp, home / STATE_FILE)


def _serves_home(url: str, home: Path) -> bool:
    """Whether a Prefect server answers at ``url`` and keeps its data in ``home`` (not another
    project's server that took over the port of a stopped one)."""
    try:
        response = httpx.get(f"{url}/admin/settings", timeout=5)
        return response.status_code == 200 and Path(response.json()["home"]).resolve() == home.resolve()
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return False


def _register_client(home: Path, pid: int) -> None:
    clients = home / CLIENTS_DIR
    clients.mkdir(exist_ok=True)
    lease = clients / str(pid)
    lease.touch()
    atexit.register(lease.unlink, missing_ok=True)


def _start_server(home: Path) -> str:
    """Start the supervisor (which starts the server) and wait until the server answers."""
    (home / STATE_FILE).unlink(missing_ok=True)
    idle = os.environ.get(IDLE_VARIABLE, str(DEFAULT_IDLE_SECONDS))
    log = open(home / LOG_FILE, "ab")  # noqa: SIM115 - the supervisor keeps the descriptor
    with log:
        supervisor = subprocess.Popen(
            [sys.executable, "-m", "tunepipe.prefect_home", "--home", str(home), "--idle", idle],
            env=_server_env(home), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,  # not stopped by the Ctrl-C or the exit of the command that started it
        )
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if supervisor.poll() is not None:
            raise ServerError(f"the project's Prefect server exited with {supervisor.returncode} (log: {home / LOG_FILE})")
        url = running_server(home)
        if url:
            print(
                f"tunepipe: started this project's Prefect server, UI on {url.removesuffix('/api')} "
                f"(data in {home}; it stops after {float(idle):.0f} s without a tunepipe command)",
                file=sys.stderr, flush=True,
            )
            return url
        time.sleep(0.25)
    _stop_process(supervisor.pid)
    raise ServerError(f"the project's Prefect server did not answer within {STARTUP_TIMEOUT_SECONDS:.0f} s (log: {home / LOG_FILE})")


def _server_env(home: Path) -> dict[str, str]:
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def _live_clients(home: Path) -> int:
    """Clients still running; leases of commands that died without cleaning up are removed."""
    alive = 0
    for lease in (home / CLIENTS_DIR).glob("*"):
        if lease.name.isdigit() and _alive(int(lease.name)):
            alive += 1
        else:
            lease.unlink(missing_ok=True)
    return alive


def _stop_process(pid: int, timeout: float = 30) -> None:
    """SIGTERM (a graceful shutdown: the server finishes what it is writing), then SIGKILL."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if os.waitpid(pid, os.WNOHANG)[0]:
                return
        except ChildProcessError:  # not our child: poll whether it still exists
            if not _alive(pid):
                return
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)


def supervise(home: Path, idle_seconds: float) -> int:
    """Run ``prefect server start`` for ``home`` until no client used it for ``idle_seconds``.

    A server that dies while a command uses it (killed, out of memory) is started again on the same
    port and database, at most :data:`MAX_RESTARTS` times: Prefect's clients retry their calls, so
    the running command goes on instead of hanging on a dead connection.
    """
    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    prefect = Path(sys.executable).with_name("prefect")
    command = [str(prefect), "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen(command)

    def stop(signum: int, frame: object) -> None:
        """A SIGTERM to the supervisor stops the server the same graceful way."""
        _stop_process(server.pid)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    if not _wait_until_serving(server, url, home):
        return 1
    record_server(home, url, os.getpid())
    last_used = time.monotonic()
    restarts = 0
    while True:
        if server.poll() is not None:
            if not _live_clients(home) or restarts >= MAX_RESTARTS:
                break
            restarts += 1
            print(f"tunepipe: the Prefect server exited ({server.returncode}) while a command used it; "
                  f"starting it again on {url} (restart {restarts} of at most {MAX_RESTARTS})", flush=True)
            server = subprocess.Popen(command)
            if not _wait_until_serving(server, url, home):
                break
            last_used = time.monotonic()
        time.sleep(1)
        if _live_clients(home):
            last_used = time.monotonic()
            continue
        if time.monotonic() - last_used < idle_seconds:
            continue
        with FileLock(home / LOCK_FILE):
            if _live_clients(home):  # a command registered since the last look
                last_used = time.monotonic()
                continue
            if running_server(home) == url:
                (home / STATE_FILE).unlink(missing_ok=True)
            _stop_process(server.pid)
        return 0
    if running_server(home) is None:
        (home / STATE_FILE).unlink(missing_ok=True)
    return server.returncode or 0


def _wait_until_serving(server: subprocess.Popen[bytes], url: str, home: Path) -> bool:
    """Whether ``server`` answers for ``home`` within the startup timeout (else it is stopped)."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while not _serves_home(url, home):
        if server.poll() is not None or time.monotonic() > deadline:
            _stop_process(server.pid)
            return False
        time.sleep(0.25)
    return True


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="supervise a project's Prefect server (started by tunepipe)")
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--idle", type=float, default=DEFAULT_IDLE_SECONDS)
    args = parser.parse_args(argv)
    return supervise(args.home.resolve(), args.idle)


if __name__ == "__main__":
    sys.exit(_main())
