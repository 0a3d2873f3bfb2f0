"""Run a local EVM node in the background: `poq chain up / status / down`.

Two clients: anvil (the default) and Hardhat's node (`client="hardhat"`, npm `hardhat`, the EDR
engine, configured by deploy/hardhat/hardhat.config.js; docs/evm-clients.md says what differs).
Each running chain is described by a JSON record `<state_dir>/<client>-<port>.json` (client, pid,
port, log, state file, start time), so a later process can report on it or stop it. The JSON-RPC
probe uses urllib rather than web3, so status checks stay fast (importing web3 costs ~1 s).
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
from typing import Any, Literal

from deploy._files import atomic_write_text
from offchain.errors import ChainError, ConfigError

DEFAULT_PORT = 8545
DEFAULT_CHAIN_ID = 31337
DEFAULT_STATE_DIR = Path(".poq/chain")
_ANVIL_IN_NODE_MODULES = Path("node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil")
_HARDHAT_IN_NODE_MODULES = Path("node_modules/.bin/hardhat")
HARDHAT_CONFIG = Path(__file__).resolve().parent / "hardhat" / "hardhat.config.js"
Client = Literal["anvil", "hardhat"]
CLIENTS: tuple[Client, ...] = ("anvil", "hardhat")
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
    client: str | None = None  # "anvil" or "hardhat" when the chain is ours (from its record)


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


def find_hardhat() -> Path:
    """$POQ_HARDHAT, else node_modules/.bin/hardhat (walking up from the cwd and this package)."""
    if explicit := os.environ.get("POQ_HARDHAT"):
        path = Path(explicit).expanduser()
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise ConfigError(f"POQ_HARDHAT={explicit} is not an executable file")
        return path
    for start in (Path.cwd(), Path(__file__).resolve().parent):
        for directory in (start, *start.parents):
            candidate = directory / _HARDHAT_IN_NODE_MODULES
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return candidate
    raise ConfigError(
        "hardhat not found: run `npm install` in the project root (it installs the pinned "
        "hardhat), or set POQ_HARDHAT to a hardhat executable"
    )


def _hardhat_project(executable: Path) -> Path | None:
    """The project whose node_modules/.bin holds `executable` (Hardhat's HH12 check wants it as the
    working directory), or None for a hardhat found elsewhere."""
    bin_dir = Path(os.path.abspath(executable)).parent
    if bin_dir.name == ".bin" and bin_dir.parent.name == "node_modules":
        return bin_dir.parent.parent
    return None


def find_client(client: str) -> Path:
    """The executable of `client` ("anvil" or "hardhat")."""
    if client == "anvil":
        return find_anvil()
    if client == "hardhat":
        return find_hardhat()
    raise ConfigError(f"unknown EVM client {client!r}: use one of {', '.join(CLIENTS)}")


def rpc_url(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def chain_up(
    port: int = DEFAULT_PORT,
    state_file: Path | None = None,
    block_time: float | None = None,
    state_dir: Path = DEFAULT_STATE_DIR,
    *,
    chain_id: int = DEFAULT_CHAIN_ID,
    timeout: float | None = None,
    client: str = "anvil",
) -> ChainStatus:
    """Start `client` (anvil or Hardhat's node) detached on 127.0.0.1:`port`; wait until it answers.

    With `state_file` (anvil only), anvil loads it at start and dumps its state there on SIGTERM,
    so a chain survives `chain_down` + `chain_up`. If a chain already answers on the port,
    nothing starts and the returned status has `already_running=True`. `timeout` defaults to 10 s
    for anvil (ready in ~0.1 s) and 30 s for Hardhat (a Node.js start, ~1 s idle, more when busy).
    """
    if client == "hardhat" and state_file is not None:
        raise ConfigError("--state is anvil's: Hardhat's node cannot dump or load its state; "
                          "use --client anvil to keep a chain across restarts")
    executable = find_client(client)
    current = chain_status(port, state_dir)
    if current.running:
        return replace(current, already_running=True)
    record_path, record = _find_record(port, state_dir)
    if record is not None and _is_our_node(int(record["pid"])):
        # Alive but silent (hung or still loading): a second node could not bind the port.
        raise ChainError(f"{record.get('client', 'anvil')} (pid {record['pid']}) holds port {port} but does "
                         "not answer; stop it with `poq chain down` first")
    if record_path is not None:
        record_path.unlink(missing_ok=True)  # stale, maybe another client's: replaced below
    state_dir.mkdir(parents=True, exist_ok=True)
    log_path = (state_dir / f"{client}-{port}.log").resolve()
    env, cwd = None, None
    if client == "hardhat":
        cwd = _hardhat_project(executable)  # Hardhat refuses to run outside the project installing it (HH12)
        command = [str(executable), "node", "--config", str(HARDHAT_CONFIG),
                   "--hostname", "127.0.0.1", "--port", str(port)]
        env = {**os.environ, "POQ_HARDHAT_CHAIN_ID": str(chain_id),
               "POQ_HARDHAT_WORKDIR": str(Path(state_dir).resolve() / f"hardhat-{port}"),
               "HARDHAT_DISABLE_TELEMETRY_PROMPT": "true"}
        if block_time is not None:
            env["POQ_HARDHAT_BLOCK_TIME"] = _format_seconds(block_time)
        else:
            env.pop("POQ_HARDHAT_BLOCK_TIME", None)
    else:
        command = [str(executable), "--host", "127.0.0.1", "--port", str(port), "--silent",
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
                                   start_new_session=True, env=env, cwd=cwd)
    _CHILDREN[process.pid] = process
    record = {
        "client": client,
        "pid": process.pid,
        "port": port,
        "log_path": str(log_path),
        "state_file": str(state_file) if state_file else None,
        "started_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "command": command,
    }
    if block_time is not None:
        record["block_time"] = block_time
    atomic_write_text(_record_path(port, state_dir, client), json.dumps(record, indent=2))
    if timeout is None:
        timeout = 30.0 if client == "hardhat" else 10.0
    _wait_ready(process, port, log_path, timeout, state_dir, client)
    return chain_status(port, state_dir)


def chain_down(port: int = DEFAULT_PORT, state_dir: Path = DEFAULT_STATE_DIR,
               *, timeout: float = 10.0) -> bool:
    """Stop the node recorded for `port`: SIGTERM (anvil then writes --state), SIGKILL fallback.

    Returns True when a process was stopped, False when none was running (a stale record is
    removed either way). A chain on the port that this tool did not start is left alone.
    """
    record_path, record = _find_record(port, state_dir)
    if record is None or record_path is None:
        return False
    pid = int(record["pid"])
    stopped = False
    if _is_our_node(pid):
        os.kill(pid, signal.SIGTERM)
        if not _wait_exit(pid, timeout):
            os.kill(pid, signal.SIGKILL)
            _wait_exit(pid, 5.0)
        stopped = True
    record_path.unlink(missing_ok=True)
    return stopped


def chain_status(port: int = DEFAULT_PORT, state_dir: Path = DEFAULT_STATE_DIR) -> ChainStatus:
    """What answers on `port`, joined with our record of it when we started it."""
    _, record = _find_record(port, state_dir)
    ours = record is not None and _is_our_node(int(record["pid"]))
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
        client=str(record.get("client", "anvil")),  # records before issue 19 were anvil's
    )


# --- helpers ----------------------------------------------------------------------------------


def _record_path(port: int, state_dir: Path, client: str = "anvil") -> Path:
    return Path(state_dir) / f"{client}-{port}.json"


def _find_record(port: int, state_dir: Path) -> tuple[Path | None, dict[str, Any] | None]:
    """The record of the chain on `port`, whichever client it is: (its path, it). A damaged
    record comes back as (path, None), so a caller can remove it."""
    damaged: Path | None = None
    for client in CLIENTS:
        path = _record_path(port, state_dir, client)
        if not path.exists():
            continue
        record = _read_record(path)
        if record is not None:
            return path, record
        damaged = damaged or path
    return damaged, None


def _read_record(path: Path) -> dict[str, Any] | None:
    """The record, or None when absent or unreadable (a damaged record counts as stale)."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        int(record["pid"])
        return record
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _is_our_node(pid: int) -> bool:
    """True when `pid` is a live (not zombie) anvil or Hardhat node; a recycled pid of another
    program is not. Hardhat runs as `node …/hardhat node …`, so the script's name counts too."""
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
        argv = (proc / "cmdline").read_bytes().split(b"\0")[:2]
    except OSError:
        return False
    state = stat.rsplit(")", 1)[-1].split()[0]
    names = [Path(arg.decode(errors="replace")).name for arg in argv if arg]
    if state in ("Z", "X") or not names:
        return False
    return "anvil" in names[0] or "hardhat" in names[-1]


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
        if not _is_our_node(pid):
            return True
        time.sleep(_POLL)
    return not _is_our_node(pid)


def _wait_ready(process: subprocess.Popen[bytes], port: int, log_path: Path, timeout: float,
                state_dir: Path, client: str) -> None:
    deadline = time.monotonic() + timeout
    record_path = _record_path(port, state_dir, client)
    while time.monotonic() < deadline:
        if process.poll() is not None:  # before the probe: another node may hold the port
            record_path.unlink(missing_ok=True)
            raise ChainError(f"{client} exited with code {process.returncode} on port {port}: "
                             f"{_last_line(log_path) or 'no output'} (log: {log_path})")
        if _rpc_int(rpc_url(port), "eth_chainId") is not None:
            return
        time.sleep(_POLL)
    process.terminate()
    record_path.unlink(missing_ok=True)
    raise ChainError(f"{client} did not answer on port {port} within {timeout:g} s (log: {log_path})")


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
