"""Agent processes: start each agent as its own `poq agent run` process, watch, stop.

A fleet stops as a whole: each child asks the kernel to send it SIGTERM when its parent dies
(PR_SET_PDEATHSIG), so even a fleet killed with SIGKILL leaves no agent behind, and `stop_all` (on
Ctrl-C, SIGTERM or the end of the run) stops them in parallel.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from offchain.errors import PoQError


@dataclass
class AgentProcess:
    role: str
    model: str
    key_index: int
    log_path: Path
    strategy: str | None = None
    declare_latency_us: int | None = None
    extra_args: list[str] = field(default_factory=list)  # more `poq agent run` options (fees, confirmations)
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def label(self) -> str:
        return f"{self.role} {self.model} (key {self.key_index})"

    def start(
        self,
        rpc_url: str,
        deployments_dir: Path,
        state_dir: Path,
        poll_s: float,
        threads: int,
        stake_eth: float | None = None,
    ) -> None:
        """`rpc_url` may be ws:// (events pushed) or http:// (polled)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            "-m",
            "poq.cli",
            "agent",
            "run",
            "--role",
            self.role,
            "--model",
            self.model,
            "--key-index",
            str(self.key_index),
            "--rpc-url",
            rpc_url,
            "--deployments",
            str(deployments_dir),
            "--state-dir",
            str(state_dir),
            "--poll",
            str(poll_s),
            "-v",
        ]
        if stake_eth is not None:
            command += ["--stake", repr(stake_eth)]
        if self.strategy:
            command += ["--strategy", self.strategy]
        if self.declare_latency_us is not None:
            command += ["--declare-latency-us", str(self.declare_latency_us)]
        command += self.extra_args
        env = {
            **os.environ,
            "OMP_NUM_THREADS": str(threads),
            "POQ_TORCH_THREADS": str(threads),
            "TOKENIZERS_PARALLELISM": "false",
            "PYTHONUNBUFFERED": "1",
        }
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
                preexec_fn=_die_with_parent,
            )

    def check_alive(self) -> None:
        """Raise with the log's last line if the process has exited."""
        if self.process is not None and self.process.poll() is not None:
            raise PoQError(
                f"agent {self.label} exited with code {self.process.returncode}: "
                f"{last_line(self.log_path)} (log {self.log_path})"
            )

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # the agent finishes its tick and closes its state
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        """SIGKILL, as a crash would (tests use it to prove agents resume)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the parent process dies, however it dies (Linux)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: stop_all still stops the agents on every orderly exit


def last_line(path: Path) -> str:
    try:
        lines = [ln for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return "no log"
    for line in reversed(lines):
        if line.startswith("Error:") or "Error" in line.split(":")[0]:
            return line.strip()[:300]
    return lines[-1].strip()[:300] if lines else "empty log"


def stop_all(agents: list[AgentProcess], timeout: float = 10.0) -> None:
    """SIGTERM to every agent at once, then SIGKILL to any still running after `timeout` seconds."""
    for agent in agents:
        if agent.process is not None and agent.process.poll() is None:
            agent.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for agent in agents:
        if agent.process is not None:
            try:
                agent.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                agent.kill()
