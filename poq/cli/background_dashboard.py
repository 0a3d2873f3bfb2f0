"""A detached dashboard for `poq demo`: started once per port, it serves until its chain stops answering.

The process is `python -m poq.cli dashboard --wait --exit-with-chain ...` in its own session
(it outlives the command that started it and ignores the terminal's Ctrl-C). Its record
`<state_dir>/dashboard-<port>.json` (pid, URL, log, chain) and log sit beside `poq chain up`'s.
If a poq dashboard for the same chain already answers on the port, it is reused.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from offchain.errors import ConfigError, one_line

DEFAULT_STATE_DIR = Path(".poq/dashboard")
_POLL_S = 0.05


@dataclass(frozen=True)
class BackgroundDashboard:
    url: str
    pid: int | None  # None when an already running dashboard was reused
    log_path: Path | None
    already_running: bool = False


def probe(url: str, timeout: float = 0.5) -> dict[str, Any] | None:
    """The /api/health answer of a poq dashboard at `url`, or None when none answers there."""
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/api/health", timeout=timeout) as response:
            body = json.loads(response.read())
    except (OSError, ValueError, urllib.error.URLError):
        return None
    return body if isinstance(body, dict) and body.get("service") == "poq-dashboard" else None


def start_background(
    rpc_url: str,
    deployments_dir: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8050,
    state_dir: Path = DEFAULT_STATE_DIR,
    timeout: float = 30.0,
) -> BackgroundDashboard:
    """Start (or reuse) a detached dashboard for `rpc_url`; returns once it answers HTTP."""
    url = f"http://{host}:{port}/"
    deployments = str(Path(deployments_dir).resolve())
    running = probe(url)
    if running is not None:
        if running.get("rpc_url") != rpc_url or running.get("deployments") != deployments:
            raise ConfigError(
                f"port {port} already serves a dashboard for {running.get('rpc_url')}: "
                "stop it or pick another --dashboard-port"
            )
        return BackgroundDashboard(url, None, None, already_running=True)
    state_dir.mkdir(parents=True, exist_ok=True)
    log_path = (state_dir / f"dashboard-{port}.log").resolve()
    command = [sys.executable, "-m", "poq.cli", "dashboard", "--rpc-url", rpc_url, "--deployments",
               deployments, "--host", host, "--port", str(port), "--wait", "--exit-with-chain"]
    with log_path.open("ab") as log:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                   start_new_session=True)
    record = {"pid": process.pid, "url": url, "rpc_url": rpc_url, "log_path": str(log_path),
              "started_at": datetime.now(UTC).replace(microsecond=0).isoformat(), "command": command}
    (state_dir / f"dashboard-{port}.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    deadline = time.monotonic() + timeout
    while probe(url) is None:
        if process.poll() is not None:
            raise ConfigError(f"the dashboard exited with code {process.returncode}: {_last_line(log_path)} "
                              f"(log: {log_path})")
        if time.monotonic() > deadline:
            process.terminate()
            raise ConfigError(f"the dashboard did not answer on {url} within {timeout:g} s (log: {log_path})")
        time.sleep(_POLL_S)
    return BackgroundDashboard(url, process.pid, log_path)


def _last_line(path: Path) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return "no output"
    return one_line(lines[-1]) if lines else "no output"
