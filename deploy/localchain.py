"""Run a local anvil node in the background: `poq chain up / status / down`.

Each running chain is described by a JSON record `<state_dir>/anvil-<port>.json` (pid, port, log,
state file, start time), so a later process can report on it or stop it. The JSON-RPC probe uses
urllib rather than web3, so status checks stay fast (importing web3 costs ~1 s).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from deploy._files import atomic_write_text
from offchain.errors import ChainError, ConfigError

DEFAULT_PORT = 8545
DEFAULT_CHAIN_ID = 31337
DEFAULT_STATE_DIR = Path(".poq/chain")
_ANVIL_IN_NODE_MODULES = Path("node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil")
_POLL = 0.01  # anvil is ready in ~0.1 s; poll finely so tests do not wait for nothing
# Nodes started by this process, kept so their exit status is collected (no zombies, no
# ResourceWarning from a Popen dropped while its process runs).
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class ChainStatus:
    running: bool
    port: int
    rpc_url: str
    pid: int | None = None  # None when the chain is not ours (no record) or not running
    chain_id: int | None = None
    block_number: int | None = None
    log_path: Path | None = None
    state_file: Path | None = None
    started_at: str | None = None
    already_running: bool = False  # chain_up found a chain answering on the port already


def find_anvil() -> Path:
    """$POQ_ANVIL, else node_modules (walking up from the cwd and this package), else PATH."""
    if explicit := os.environ.get("POQ_ANVIL"):
        path = Path(explicit).expanduser()
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise ConfigError(f"POQ_ANVIL={explicit} is not an executable file")
        return path
    for start in (Path.cwd(), Path(__file__).resolve().parent):
        for directory in (start, *start.parents):
            candidate = directory / _ANVIL_IN_NODE_MODULES
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return candidate
    if on_path := shutil.which("anvil"):
        return Path(on_path)
    raise ConfigError(
        "anvil not found: run `npm install` in the project root (it installs "
        "@foundry-rs/anvil-linux-amd64), install Foundry, or set POQ_ANVIL"
    )


def rpc_url(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def chain_up(
    port: int = DEFAULT_PORT,
    state_file: Path | None = None,
    block_time: float | None = None,
    state_dir: Path = DEFAULT_STATE_DIR,
    *,
    chain_id: int = DEFAULT_CHAIN_ID,
    timeout: float = 10.0,
) -> ChainStatus:
    """Start anvil detached on 127.0.0.1:`port` and wait until it answers JSON-RPC.

    With `state_file`, anvil loads it at start and dumps its state there on SIGTERM, so a chain
    survives `chain_down` + `chain_up`. If a chain already answers on the port, nothing starts
    and the returned status has `already_running=True`.
    """
    current = chain_status(port, state_dir)
    if current.running:
        return replace(current, already_running=True)
    record = _read_record(_record_path(port, state_dir))
    if record is not None and _is_our_anvil(int(record["pid"])):
        # Alive but silent (hung or still loading): a second anvil could not bind the port.
        raise ChainError(f"anvil (pid {record['pid']}) holds port {port} but does not answer; "
                         "stop it with `poq chain down` first")
    anvil = find_anvil()
    state_dir.mkdir(parents=True, exist_ok=True)
    log_path = (state_dir / f"anvil-{port}.log").resolve()
    command = [str(anvil), "--host", "127.0.0.1", "--port", str(port), "--silent",
               "--chain-id", str(chain_id)]
    if state_file is not None:
        state_file = Path(state_file).resolve()
        state_file.parent.mkdir(parents=True, exist_ok=True)
        command += ["--state", str(state_file)]
    if block_time is not None:
        command += ["--block-time", _format_seconds(block_time)]
    with log_path.open("ab") as log:
        # A new session: the node outlives this process and ignores the terminal's Ctrl-C.
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                   start_new_session=True)
    _CHILDREN[process.pid] = process
    record = {
        "pid": process.pid,
        "port": port,
        "log_path": str(log_path),
        "state_file": str(state_file) if state_file else None,
        "started_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "command": command,
    }
    atomic_write_text(_record_path(port, state_dir), json.dumps(record, indent=2))
    _wait_ready(process, port, log_path, timeout, state_dir)
    return chain_status(port, state_dir)


def chain_down(port: int = DEFAULT_PORT, state_dir: Path = DEFAULT_STATE_DIR,
               *, timeout: float = 10.0) -> bool:
    """Stop the anvil recorded for `port`: SIGTERM (anvil then writes --state), SIGKILL fallback.

    Returns True when a process was stopped, False when none was running (a stale record is
    removed either way). A chain on the port that this tool did not start is left alone.
    """
    record_path = _record_path(port, state_dir)
    record = _read_record(record_path)
    if record is None:
        return False
    pid = int(record["pid"])
    stopped = False
    if _is_our_anvil(pid):
        os.kill(pid, signal.SIGTERM)
        if not _wait_exit(pid, timeout):
            os.kill(pid, signal.SIGKILL)
            _wait_exit(pid, 5.0)
        stopped = True
    record_path.unlink(missing_ok=True)
    return stopped


def chain_status(port: int = DEFAULT_PORT, state_dir: Path = DEFAULT_STATE_DIR) -> ChainStatus:
    """What answers on `port`, joined with our record of it when we started it."""
    record = _read_record(_record_path(port, state_dir))
    ours = record is not None and _is_our_anvil(int(record["pid"]))
    url = rpc_url(port)
    chain_id = _rpc_int(url, "eth_chainId")
    block = _rpc_int(url, "eth_blockNumber") if chain_id is not None else None
    if not ours or record is None:
        return ChainStatus(running=chain_id is not None, port=port, rpc_url=url,
                           chain_id=chain_id, block_number=block)
    return ChainStatus(
        running=chain_id is not None,
        port=port,
        rpc_url=url,
        pid=int(record["pid"]),
        chain_id=chain_id,
        block_number=block,
        log_path=Path(record["log_path"]),
        state_file=Path(record["state_file"]) if record.get("state_file") else None,
        started_at=record.get("started_at"),
    )


# --- helpers ----------------------------------------------------------------------------------


def _record_path(port: int, state_dir: Path) -> Path:
    return Path(state_dir) / f"anvil-{port}.json"


def _read_record(path: Path) -> dict[str, Any] | None:
    """The record, or None when absent or unreadable (a damaged record counts as stale)."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        int(record["pid"])
        return record
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _is_our_anvil(pid: int) -> bool:
    """True when `pid` is a live (not zombie) anvil; a recycled pid of another program is not."""
    _reap(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False  # someone else's process reusing the pid
    proc = Path(f"/proc/{pid}")
    if not proc.exists():  # no procfs (macOS): trust the signal probe
        return True
    try:
        stat = (proc / "stat").read_text()
        cmdline = (proc / "cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
    except OSError:
        return False
    state = stat.rsplit(")", 1)[-1].split()[0]
    return state not in ("Z", "X") and "anvil" in Path(cmdline).name


def _reap(pid: int) -> None:
    """Collect the exit status if `pid` is our own child, so it does not linger as a zombie."""
    if (child := _CHILDREN.get(pid)) is not None:
        if child.poll() is not None:
            del _CHILDREN[pid]
        return
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _wait_exit(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _is_our_anvil(pid):
            return True
        time.sleep(_POLL)
    return not _is_our_anvil(pid)


def _wait_ready(process: subprocess.Popen[bytes], port: int, log_path: Path, timeout: float,
                state_dir: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _rpc_int(rpc_url(port), "eth_chainId") is not None:
            return
        if process.poll() is not None:
            _record_path(port, state_dir).unlink(missing_ok=True)
            raise ChainError(f"anvil exited with code {process.returncode} on port {port}: "
                             f"{_last_line(log_path) or 'no output'} (log: {log_path})")
        time.sleep(_POLL)
    process.terminate()
    _record_path(port, state_dir).unlink(missing_ok=True)
    raise ChainError(f"anvil did not answer on port {port} within {timeout:g} s (log: {log_path})")


def _rpc_int(url: str, method: str, timeout: float = 0.5) -> int | None:
    """A hex-quantity JSON-RPC result as an int, or None when nothing (valid) answers."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": []}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(json.loads(response.read())["result"], 16)
    except (OSError, ValueError, KeyError, TypeError, urllib.error.URLError):
        return None


def _last_line(path: Path) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1].strip() if lines else ""


def _format_seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
