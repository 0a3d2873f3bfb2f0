"""Fault injection for replaying fleets on anvil (issue 19): reorgs, dropped transactions, an RPC outage,
a base-fee spike and interval mining, each injected into a live fleet that must still settle every task.

Each case starts its own anvil (so it controls the flags: `--no-mining`, `--block-time N`, `--state FILE`),
runs `run_fleet` against it with agents replaying the 400-task run's answers and scores (no model
time: docs/results/run-400), and injects its fault from a background thread once the first batch is
open. A second thread watches the contract's BatchOpened / BatchFinalized logs on the canonical chain,
which gives the settlements' times as the chain sees them (a finalize a reorg took back does not count).

A case passes when, within its time limit: every task settled (the requester's count and the chain's),
the contract's escrow is 0, the audit (poq.fleet.audit) is exact, no agent process exited early or
raised out of the requester's loop, no agent log holds a traceback, and the fault was injected as
planned. A case that runs past its limit stops the fleet (agents first) and reports what failed.

    from poq.fleet.faults import fault_cases, run_case
    result = run_case(fault_cases("small")["reorg"], work_dir, n_tasks=8)
    print(result.line())

bench/faults.py runs the full size; tests/integration/test_faults.py a small one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("poq.fleet.faults")

GWEI = 10**9
CHAIN_ID = 31337
RUN_400 = Path(__file__).resolve().parents[2] / "docs" / "results" / "run-400"
GENERATORS = ("smollm2-135m", "gemma3-270m")
EVALUATORS = ("minilm-l6", "mpnet-base", "ce-minilm-l12")
BATCH_SIZE = 8
PACE = 1.0  # generators answer in the logged run's time (see fleet_config)
IN_FLIGHT = 2  # batches the requester keeps open
REQUESTER_KEY = 1


class RpcError(Exception):
    """A JSON-RPC call to the case's anvil failed (no answer, or an error answer)."""


class CaseTimeout(BaseException):  # noqa: N818 - not an error of the code under test: the harness's stop
    """Raised in the main thread when a case runs past its time limit (a BaseException, so no broad
    `except Exception` in the agents' code swallows it)."""


# --- the chain ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Anvil:
    """One anvil process this harness controls: started with the case's flags, stopped with SIGTERM
    (anvil then dumps `--state`), restarted on the same port with the same flags and state file."""

    def __init__(self, work: Path, flags: Sequence[str] = (), *, state_file: bool = False,
                 port: int | None = None) -> None:
        self.work = work
        self.flags = list(flags)
        self.port = port or free_port()
        self.state_file = work / "anvil-state.json" if state_file else None
        self.log_path = work / "anvil.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def command(self) -> list[str]:
        from deploy.localchain import find_anvil

        command = [str(find_anvil()), "--host", "127.0.0.1", "--port", str(self.port), "--silent",
                   "--chain-id", str(CHAIN_ID), *self.flags]
        if self.state_file is not None:
            command += ["--state", str(self.state_file)]
        return command

    def start(self, timeout: float = 15.0) -> None:
        self.work.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + timeout
        while True:
            with self.log_path.open("ab") as out:
                self.process = _SPAWNER.submit(
                    subprocess.Popen, self.command, stdin=subprocess.DEVNULL, stdout=out,
                    stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_die_with_parent).result()
            while time.monotonic() < deadline:
                if self.answers():
                    return
                if self.process.poll() is not None:
                    break  # e.g. the port is still held by the process just stopped: try again
                time.sleep(0.05)
            if self.process.poll() is None:
                self.stop()
                raise RpcError(f"anvil did not answer on port {self.port} within {timeout:.0f} s")
            if time.monotonic() > deadline:
                raise RpcError(f"anvil exited with code {self.process.returncode} (log {self.log_path})")
            time.sleep(0.2)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM (anvil writes its --state file), SIGKILL if it has not exited after `timeout`."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def answers(self) -> bool:
        try:
            self.rpc("eth_chainId", timeout=0.5)
            return True
        except RpcError:
            return False

    def rpc(self, method: str, *params: Any, timeout: float = 5.0) -> Any:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}).encode()
        request = urllib.request.Request(self.url, data=body, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                answer = json.loads(response.read())
        except (OSError, ValueError, urllib.error.URLError) as exc:
            raise RpcError(f"{method}: {exc}") from None
        if "error" in answer:
            raise RpcError(f"{method}: {answer['error'].get('message', answer['error'])}")
        return answer.get("result")

    def head(self) -> int:
        return int(self.rpc("eth_blockNumber"), 16)

    def block(self, number: int | str, full: bool = False) -> dict[str, Any]:
        tag = hex(number) if isinstance(number, int) else number
        block = self.rpc("eth_getBlockByNumber", tag, full)
        if block is None:
            raise RpcError(f"no block {number}")
        return dict(block)

    def pending(self) -> int:
        return int(self.rpc("txpool_status")["pending"], 16)


# PR_SET_PDEATHSIG fires when the *thread* that forked the child exits, not the process: an anvil the
# outage's injector thread restarted would die with that thread. Every anvil is forked from this one
# worker thread instead, which lives as long as the process.
_SPAWNER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="poq-faults-spawner")


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when this harness dies, however it dies (Linux)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


# --- what the harness knows of the contract ---------------------------------------------------------


class Codec:
    """Event topics, function selectors and account labels of a deployment, from its manifest's ABI."""

    def __init__(self, address: str, abi: list[dict[str, Any]], deployment_block: int) -> None:
        from eth_utils import keccak

        from offchain.chain.accounts import dev_account

        self.address = address
        self.deployment_block = deployment_block
        self.topics: dict[str, str] = {}
        self.data_types: dict[str, list[str]] = {}
        self.selectors: dict[str, str] = {}
        for entry in abi:
            types = ",".join(_abi_type(i) for i in entry.get("inputs", []))
            signature = f"{entry.get('name')}({types})"
            if entry.get("type") == "event":
                self.topics[entry["name"]] = "0x" + keccak(text=signature).hex()
                self.data_types[entry["name"]] = [_abi_type(i) for i in entry["inputs"] if not i.get("indexed")]
            elif entry.get("type") == "function":
                self.selectors["0x" + keccak(text=signature)[:4].hex()] = entry["name"]
        self.labels = {dev_account(0).address.lower(): "deployer", dev_account(1).address.lower(): "requester"}
        for key in range(2, 2 + len(GENERATORS)):
            self.labels[dev_account(key).address.lower()] = f"inference-{key}"
        for key in range(2 + len(GENERATORS), 2 + len(GENERATORS) + len(EVALUATORS)):
            self.labels[dev_account(key).address.lower()] = f"evaluator-{key}"

    def decode(self, name: str, raw_log: dict[str, Any]) -> tuple[Any, ...]:
        from eth_abi import decode

        return tuple(decode(self.data_types[name], bytes.fromhex(raw_log["data"][2:])))

    def describe_tx(self, tx: dict[str, Any]) -> str:
        """`fn by who`, e.g. `commitScores by evaluator-5`."""
        data = tx.get("input") or tx.get("data") or "0x"
        fn = self.selectors.get(data[:10], "transfer" if data == "0x" else data[:10])
        who = self.labels.get(str(tx.get("from", "")).lower(), str(tx.get("from", "?"))[:10])
        return f"{fn} by {who}"


def _abi_type(entry: dict[str, Any]) -> str:
    kind = str(entry["type"])
    if kind.startswith("tuple"):
        return "(" + ",".join(_abi_type(c) for c in entry["components"]) + ")" + kind[len("tuple"):]
    return kind


# --- the case's shared state ------------------------------------------------------------------------


@dataclass
class FaultContext:
    """What the injector and watcher threads share with the case runner."""

    chain: Anvil
    deployments: Path
    n_tasks: int
    stop: threading.Event = field(default_factory=threading.Event)
    opened: threading.Event = field(default_factory=threading.Event)  # the first batch is on chain
    all_settled: threading.Event = field(default_factory=threading.Event)
    codec: Codec | None = None
    started: float = field(default_factory=time.monotonic)
    fault_start: float | None = None
    fault_end: float | None = None
    cut_short = False  # the run ended (every task settled, or the limit) while the fault still held
    opened_at: float | None = None
    notes: list[str] = field(default_factory=list)  # what the injector did, in order
    problems: list[str] = field(default_factory=list)  # how the injection fell short of its plan
    chain_settled: int = 0  # tasks finalized on the canonical chain, as last read
    chain_settled_at: list[tuple[float, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, text: str) -> None:
        with self.lock:
            self.notes.append(f"+{time.monotonic() - self.started:6.1f} s {text}")
        log.info("fault: %s", text)

    def problem(self, text: str) -> None:
        with self.lock:
            self.problems.append(text)
        log.warning("fault: %s", text)

    def began(self) -> None:
        if self.fault_start is None:
            self.fault_start = time.monotonic()

    def ended(self) -> None:
        self.fault_end = time.monotonic()

    def sleep(self, seconds: float) -> bool:
        """Sleep unless the case is stopping; False when it is."""
        return not self.stop.wait(max(0.0, seconds))

    def wait_opened(self) -> bool:
        """Until the first batch is open on chain (and the contract is known); False if the case stops first."""
        while not self.stop.is_set():
            if self.opened.wait(0.1) and self.codec is not None:
                return True
        return False

    @property
    def last_settlement(self) -> float | None:
        """When the canonical chain last reached every task finalized (None if it never did)."""
        reached = None
        for at, count in self.chain_settled_at:
            if count >= self.n_tasks and reached is None:
                reached = at
            elif count < self.n_tasks:
                reached = None  # a reorg took a finalize back
        return reached


class _Watcher(threading.Thread):
    """Polls the case's chain: the manifest (for the codec), then BatchOpened / BatchFinalized logs."""

    def __init__(self, ctx: FaultContext, period_s: float = 0.25) -> None:
        super().__init__(name="fault-watcher", daemon=True)
        self.ctx = ctx
        self.period_s = period_s

    def run(self) -> None:
        ctx = self.ctx
        manifest_path = ctx.deployments / f"{CHAIN_ID}.json"
        while not ctx.stop.is_set():
            try:
                if ctx.codec is None:
                    if manifest_path.is_file():
                        m = json.loads(manifest_path.read_text())
                        ctx.codec = Codec(str(m["address"]), list(m["abi"]), int(m["block_number"]))
                else:
                    self._poll(ctx.codec)
            except (RpcError, OSError, ValueError, KeyError):
                pass  # an outage, a manifest half written: try again
            ctx.stop.wait(self.period_s)

    def _poll(self, codec: Codec) -> None:
        ctx = self.ctx
        opened_topic, final_topic = codec.topics["BatchOpened"], codec.topics["BatchFinalized"]
        logs = ctx.chain.rpc("eth_getLogs", {"address": codec.address, "fromBlock": hex(codec.deployment_block),
                                             "toBlock": "latest", "topics": [[opened_topic, final_topic]]})
        opened, finalized = 0, 0
        for raw in logs:
            if raw["topics"][0] == opened_topic:
                opened += 1
            else:
                finalized += len(codec.decode("BatchFinalized", raw)[2])  # quality: one per task
        if opened and not ctx.opened.is_set():
            ctx.opened_at = time.monotonic()
            ctx.opened.set()
        if finalized != ctx.chain_settled or not ctx.chain_settled_at:
            ctx.chain_settled = finalized
            ctx.chain_settled_at.append((time.monotonic(), finalized))
        if finalized >= ctx.n_tasks:
            ctx.all_settled.set()
        else:
            ctx.all_settled.clear()


# --- the injectors ----------------------------------------------------------------------------------


class Injector:
    """A fault: anvil flags for the case's chain, and a thread body that injects it.

    `run` starts before the fleet deploys and must return soon after `ctx.stop` is set, leaving the
    chain up and answering (the runner checks the books on it afterwards)."""

    flags: tuple[str, ...] = ()
    state_file = False
    throughout = False  # the fault lasts the whole run: its "end" is taken as the first batch's opening

    def run(self, ctx: FaultContext) -> None:
        raise NotImplementedError

    def plan(self) -> str:
        raise NotImplementedError


class NoFault(Injector):
    """The control: an automining anvil, nothing injected."""

    throughout = True

    def run(self, ctx: FaultContext) -> None:
        if ctx.wait_opened():
            ctx.began()
            ctx.ended()

    def plan(self) -> str:
        return "no fault (automining anvil)"


@dataclass
class Reorgs(Injector):
    """`anvil_reorg [depth, []]` at intervals once the first batch is open. Each reorg replaces the last
    `depth` blocks with empty ones; the orphaned transactions' fate alternates with `fates`: "lost" (gone
    from the chain and the pool: their senders must notice and send again) or "resent" (their raw bytes
    go back to the node with eth_sendRawTransaction at once, as a mempool would re-include them at new
    heights, on top of the new chain's state)."""

    depths: tuple[int, ...] = (2, 3, 4, 5)
    gap_s: float = 4.0
    first_after_s: float = 1.0
    fates: tuple[str, ...] = ("lost", "resent")

    def plan(self) -> str:
        return f"reorgs of depth {', '.join(map(str, self.depths))}, {self.gap_s:g} s apart"

    def run(self, ctx: FaultContext) -> None:
        if not ctx.wait_opened() or not ctx.sleep(self.first_after_s):
            return
        for i, depth in enumerate(self.depths):
            if i and not ctx.sleep(self.gap_s):
                return
            if ctx.all_settled.is_set():
                ctx.problem(f"every task settled before reorg {i + 1} of {len(self.depths)}")
                return
            try:
                reorg(ctx, depth, self.fates[i % len(self.fates)])
            except RpcError as exc:
                ctx.problem(f"reorg of depth {depth} failed: {exc}")


def reorg(ctx: FaultContext, depth: int, fate: str, *, target: str | None = None) -> list[str]:
    """One reorg of `depth` blocks on ctx.chain; returns the orphaned transactions' hashes."""
    chain, codec = ctx.chain, ctx.codec
    assert codec is not None
    head = chain.head()
    orphaned: list[dict[str, Any]] = []
    for number in range(head - depth + 1, head + 1):
        orphaned += chain.block(number, full=True)["transactions"]
    raws = [chain.rpc("eth_getRawTransactionByHash", tx["hash"]) for tx in orphaned] if fate == "resent" else []
    ctx.began()
    chain.rpc("anvil_reorg", depth, [])
    ctx.ended()
    what = ", ".join(codec.describe_tx(tx) for tx in orphaned) or "no transactions"
    resent = 0
    for raw in raws:
        try:
            chain.rpc("eth_sendRawTransaction", raw)
            resent += 1
        except RpcError:
            pass  # e.g. an agent already sent a replacement with that nonce
    aim = f" aimed at {target}" if target else ""
    fate_text = f"{resent} resent" if fate == "resent" else "lost"
    ctx.note(f"reorg depth {depth}{aim} at block {head}: orphaned {len(orphaned)} txs ({what}); {fate_text}")
    return [str(tx["hash"]) for tx in orphaned]


@dataclass
class AimedReorg(Injector):
    """A reorg of depth `depth` right after an `event` (ScoresCommitted: an evaluator's commitScores;
    BatchFinalized: the requester's finalize) lands: the injector polls the newest blocks' logs every
    20 ms and reorgs as soon as one appears, deep enough to orphan it (deeper than `depth` only when
    blocks came on top meanwhile, at most `max_depth`). The orphaned transactions are lost."""

    event: str = "ScoresCommitted"
    depth: int = 2
    max_depth: int = 5
    hits: int = 1

    def plan(self) -> str:
        return f"a depth-{self.depth} reorg right after a {self.event} lands"

    def run(self, ctx: FaultContext) -> None:
        if not ctx.wait_opened():
            return
        assert ctx.codec is not None
        chain, codec, topic = ctx.chain, ctx.codec, ctx.codec.topics[self.event]
        hit = 0
        since = codec.deployment_block
        while hit < self.hits and not ctx.stop.is_set():
            try:
                logs = chain.rpc("eth_getLogs", {"address": codec.address, "fromBlock": hex(since),
                                                 "toBlock": "latest", "topics": [topic]})
                if not logs:
                    ctx.sleep(0.02)
                    continue
                newest = logs[-1]
                landed = int(newest["blockNumber"], 16)
                since = landed + 1
                head = chain.head()
                depth = max(self.depth, head - landed + 1)
                if depth > self.max_depth:
                    ctx.note(f"{self.event} at block {landed} already {head - landed} blocks deep: next one")
                    continue
                orphaned = reorg(ctx, depth, "lost", target=f"the {self.event} of batch {int(newest['topics'][1], 16)}")
                if newest["transactionHash"] in orphaned:
                    hit += 1
                    since = landed - depth + 1  # the chain now ends below it
                else:
                    ctx.note(f"the {self.event} was not in the reorged blocks: next one")
            except RpcError as exc:
                ctx.problem(f"aimed reorg: {exc}")
                ctx.sleep(0.5)
        if hit < self.hits:
            ctx.problem(f"{hit} of {self.hits} aimed reorgs hit a {self.event}")


@dataclass
class Drops(Injector):
    """anvil `--no-mining`; this thread mines a block every `block_s` (evm_mine) for the whole case, and
    from 1 s after the first batch opens calls `anvil_dropAllTransactions` `count` times, `gap_s` apart,
    each just before a block is mined and only when the pool holds transactions (so every drop loses
    some)."""

    count: int = 6
    gap_s: float = 3.0
    block_s: float = 1.0
    flags: tuple[str, ...] = ("--no-mining",)

    def plan(self) -> str:
        return (f"--no-mining with a block every {self.block_s:g} s; {self.count} anvil_dropAllTransactions, "
                f"{self.gap_s:g} s apart")

    def run(self, ctx: FaultContext) -> None:
        chain = ctx.chain
        dropped = 0
        due: float | None = None
        next_block = time.monotonic()
        while not ctx.stop.is_set():
            if due is None and ctx.opened.is_set() and ctx.codec is not None and dropped < self.count:
                due = time.monotonic() + 1.0
            try:
                if due is not None and time.monotonic() >= due and chain.pending() > 0:
                    self._drop(ctx)
                    dropped += 1
                    due = time.monotonic() + self.gap_s if dropped < self.count else None
                    if dropped == self.count:
                        ctx.ended()
                chain.rpc("evm_mine")
            except RpcError as exc:
                ctx.problem(f"drop/mine: {exc}")
            next_block += self.block_s
            ctx.sleep(next_block - time.monotonic())
        if dropped < self.count:
            ctx.problem(f"{dropped} of {self.count} drops injected")

    def _drop(self, ctx: FaultContext) -> None:
        assert ctx.codec is not None
        content = ctx.chain.rpc("txpool_content")
        txs = [tx for by_nonce in content.get("pending", {}).values() for tx in by_nonce.values()]
        txs += [tx for by_nonce in content.get("queued", {}).values() for tx in by_nonce.values()]
        ctx.began()
        ctx.chain.rpc("anvil_dropAllTransactions")
        ctx.note(f"dropped {len(txs)} pending txs ({', '.join(ctx.codec.describe_tx(tx) for tx in txs)})")


@dataclass
class Outage(Injector):
    """anvil runs with `--state FILE --preserve-historical-states`; 2 s after the first batch opens it gets
    SIGTERM (it dumps its state, every connection drops), stays down `down_s` seconds, and starts again
    on the same port with the same state file. The fault ends when the restarted node answers; it must
    answer with the same head block (number and hash) it had."""

    down_s: float = 20.0
    first_after_s: float = 2.0
    flags: tuple[str, ...] = ("--preserve-historical-states",)
    state_file = True

    def plan(self) -> str:
        return f"anvil stopped with SIGTERM, down {self.down_s:g} s, restarted from its --state file"

    def run(self, ctx: FaultContext) -> None:
        if not ctx.wait_opened() or not ctx.sleep(self.first_after_s):
            return
        chain = ctx.chain
        try:
            head = chain.block("latest")
        except RpcError as exc:
            ctx.problem(f"outage: could not read the head: {exc}")
            return
        ctx.began()
        went_down = time.monotonic()
        chain.stop()
        ctx.note(f"anvil stopped at block {int(head['number'], 16)} (state dumped)")
        ctx.stop.wait(max(0.0, self.down_s - (time.monotonic() - went_down)))  # even when stopping: restore
        try:
            chain.start()
        except RpcError as exc:
            ctx.problem(f"outage: anvil did not come back: {exc}")
            return
        ctx.ended()
        try:
            again = chain.block(int(head["number"], 16))
            restored = again["hash"] == head["hash"]
        except RpcError:
            restored = False
        ctx.note(f"anvil back after {time.monotonic() - went_down:.1f} s, state "
                 f"{'restored (same head block)' if restored else 'NOT restored'}")
        if not restored:
            ctx.problem("the restarted anvil does not hold the head block it had")


@dataclass
class FeeSpike(Injector):
    """The base fee is held at `base_gwei` (anvil `--base-fee`, then `anvil_setNextBlockBaseFeePerGas`
    after every block) and raised to `spike_gwei` for `hold_s` seconds 1 s after the first batch opens.

    During the spike anvil's automine is off (`evm_setAutomine false`) and this thread mines instead:
    every 20 ms, if the pool holds transactions or no block came for `block_s` (a busy chain keeps
    making blocks, so the latest block shows the spike), it sets the next block's base fee and calls
    evm_mine, so every block of the window (the requester's nudges included) carries exactly the spike's
    base fee; anvil refuses any transaction whose fee cap is below it ("max fee per gas less than block
    base fee"). After the window: the base fee back to `base_gwei`, what is pending mined, automine on
    again. The blocks of the window are read back afterwards to prove the fee held."""

    spike_gwei: int = 500
    hold_s: float = 45.0
    base_gwei: int = 20
    first_after_s: float = 1.0
    block_s: float = 1.0

    @property
    def flags(self) -> tuple[str, ...]:  # type: ignore[override]
        return ("--base-fee", str(self.base_gwei * GWEI))

    def plan(self) -> str:
        return f"base fee {self.base_gwei} gwei, then {self.spike_gwei} gwei held {self.hold_s:g} s"

    def run(self, ctx: FaultContext) -> None:
        chain = ctx.chain
        spike_from: float | None = None
        first_block = last_block = None
        last_head, last_target = -1, -1
        last_head_seen, head_since, stuck = -1, time.monotonic(), 0
        while not ctx.stop.is_set():
            now = time.monotonic()
            if spike_from is None and ctx.opened.is_set() and ctx.codec is not None:
                spike_from = now + self.first_after_s
            in_spike = spike_from is not None and spike_from <= now < spike_from + self.hold_s
            target = (self.spike_gwei if in_spike else self.base_gwei) * GWEI
            try:
                if in_spike and first_block is None:
                    chain.rpc("evm_setAutomine", False)
                    first_block = chain.head() + 1
                    ctx.began()
                    ctx.note(f"base fee {self.spike_gwei} gwei from block {first_block}, automine off")
                elif not in_spike and first_block is not None and last_block is None:
                    chain.rpc("anvil_setNextBlockBaseFeePerGas", hex(target))
                    last_block = chain.head()
                    ctx.ended()
                    if chain.pending():
                        chain.rpc("evm_mine")
                    chain.rpc("evm_setAutomine", True)
                    ctx.note(f"base fee {self.base_gwei} gwei again after block {last_block}, automine on")
                head = chain.head()
                if head != last_head or target != last_target:
                    chain.rpc("anvil_setNextBlockBaseFeePerGas", hex(target))
                    last_head, last_target = head, target
                if head != last_head_seen:
                    last_head_seen, head_since = head, now
                if in_spike and (chain.pending() > stuck or now - head_since >= self.block_s):
                    chain.rpc("anvil_setNextBlockBaseFeePerGas", hex(target))
                    chain.rpc("evm_mine")
                    chain.rpc("anvil_setNextBlockBaseFeePerGas", hex(target))  # at once, for anyone's next
                    last_head = last_head_seen = chain.head()
                    head_since, stuck = time.monotonic(), chain.pending()  # stuck: a fee cap below it
            except RpcError as exc:
                ctx.problem(f"fee spike: {exc}")
            ctx.sleep(0.02 if in_spike else 0.05)
        if first_block is not None and last_block is None:  # the run ended inside the window
            with contextlib.suppress(RpcError):
                chain.rpc("evm_setAutomine", True)
                last_block = chain.head()
            ctx.ended()
            ctx.cut_short = True
            ctx.note(f"the run ended {time.monotonic() - (ctx.fault_start or 0):.1f} s into the spike: cut short")
        if first_block is None:
            ctx.problem("the spike never started")
            return
        self._verify(ctx, first_block, last_block or first_block - 1)

    def _verify(self, ctx: FaultContext, first: int, last: int) -> None:
        try:
            blocks = [ctx.chain.block(n) for n in range(first, last + 1)]
            before = [ctx.chain.block(n) for n in range(max(1, first - 5), first)]
        except RpcError as exc:
            ctx.problem(f"fee spike: could not read the window's blocks: {exc}")
            return
        fees = [int(b["baseFeePerGas"], 16) for b in blocks]
        off = [(first + i, f / GWEI) for i, f in enumerate(fees) if f != self.spike_gwei * GWEI]
        gwei = [int(b["baseFeePerGas"], 16) / GWEI for b in before]
        ctx.note(f"base fee of the {len(before)} blocks before the window: {', '.join(f'{g:g}' for g in gwei)} gwei")
        ctx.note(f"the window's {len(fees)} blocks ({first}..{last}): base fee "
                 f"{min(fees, default=0) / GWEI:g}..{max(fees, default=0) / GWEI:g} gwei, "
                 f"{sum(len(b['transactions']) for b in blocks)} transactions landed in them")
        if not fees:
            ctx.problem("no block was mined during the spike")
        if off:
            ctx.problem(f"{len(off)} blocks of the window not at {self.spike_gwei} gwei, first {off[0]}")


@dataclass
class IntervalMining(Injector):
    """anvil `--block-time N` for the whole case (the requester's own evm_mine nudges still add blocks).
    The fault has no end: its window is taken as the first batch's opening."""

    block_s: int = 2
    throughout = True

    @property
    def flags(self) -> tuple[str, ...]:  # type: ignore[override]
        return ("--block-time", str(self.block_s))

    def plan(self) -> str:
        return f"interval mining, a block every {self.block_s} s"

    def run(self, ctx: FaultContext) -> None:
        if ctx.wait_opened():
            ctx.began()
            ctx.ended()


# --- cases ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FaultCase:
    name: str
    make: Callable[[], Injector]
    limit_s: float  # the whole case, chain start to books checked

    def injector(self) -> Injector:
        return self.make()


def fault_cases(size: str = "full") -> dict[str, FaultCase]:
    """Every case by name: "full" (bench/faults.py) or "small" (CI: shorter faults, fewer of them).
    `none` (a control run) is in both but not in ALL_CASES."""
    small = size == "small"
    if size not in ("full", "small"):
        raise ValueError(f"size is full or small, not {size!r}")
    base = 90.0 if small else 180.0  # startup, deploy, registration, the workload itself (~30 s unhurt)
    cases = [
        FaultCase("none", NoFault, base),
        FaultCase("reorg", (lambda: Reorgs(depths=(2, 4), gap_s=3.0)) if small else Reorgs, base + 30),
        FaultCase("reorg-commit", lambda: AimedReorg(event="ScoresCommitted"), base + 10),
        FaultCase("reorg-finalize", lambda: AimedReorg(event="BatchFinalized"), base + 10),
        FaultCase("drop", (lambda: Drops(count=3, gap_s=2.0)) if small else Drops, base + 60),
        FaultCase("outage", (lambda: Outage(down_s=5.0)) if small else Outage, base + (10 if small else 25)),
        FaultCase("fee-spike", (lambda: FeeSpike(hold_s=10.0)) if small else FeeSpike, base + (15 if small else 50)),
        FaultCase("interval-2", lambda: IntervalMining(block_s=2), base + 90),
        FaultCase("interval-12", lambda: IntervalMining(block_s=12), base + 420),  # ~205 s unhurt (24 tasks)
    ]
    return {case.name: case for case in cases}


ALL_CASES = ("reorg", "reorg-commit", "reorg-finalize", "drop", "outage", "fee-spike", "interval-2", "interval-12")
SMALL_CASES = ("reorg", "drop", "outage", "fee-spike", "interval-2")


# --- results ----------------------------------------------------------------------------------------


@dataclass
class CaseResult:
    name: str
    plan: str
    n_tasks: int
    throughout: bool = False
    settled_requester: int = 0
    settled_chain: int | None = None  # tasks of the batches the audit replayed (None: no audit)
    escrow_wei: int | None = None
    audit_ok: bool | None = None
    audit_summary: str = ""
    error: str | None = None  # what ended the run early: an agent's exit, an exception, the time limit
    timed_out: bool = False
    agent_exits: list[str] = field(default_factory=list)
    tracebacks: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    fault_problems: list[str] = field(default_factory=list)
    fault_start_s: float | None = None  # seconds since the case began
    fault_end_s: float | None = None
    cut_short: bool = False  # the run ended while the fault still held (fault_end_s: when it ended)
    last_settlement_s: float | None = None
    requester_last_settlement_s: float | None = None
    wall_s: float = 0.0
    run_dir: Path | None = None
    requester_warnings: int = 0

    @property
    def recovery_s(self) -> float | None:
        """Seconds from the fault's end to the last settlement (negative: all settled before it ended)."""
        if self.fault_end_s is None or self.last_settlement_s is None:
            return None
        return self.last_settlement_s - self.fault_end_s

    @property
    def failures(self) -> list[str]:
        out = []
        if self.timed_out:
            out.append(f"time limit: {self.error}")
        elif self.error:
            out.append(f"the run raised: {self.error}")
        if self.settled_requester != self.n_tasks or self.settled_chain != self.n_tasks:
            chain = "?" if self.settled_chain is None else self.settled_chain
            out.append(f"settled {self.settled_requester}/{self.n_tasks} (requester), {chain}/{self.n_tasks} (chain)")
        if self.escrow_wei != 0:
            out.append(f"escrow {'unread' if self.escrow_wei is None else f'{self.escrow_wei} wei'}")
        if not self.audit_ok:
            out.append(f"audit: {self.audit_summary or 'not run'}")
        out += [f"agent exited: {e}" for e in self.agent_exits]
        out += [f"traceback in {t}" for t in self.tracebacks]
        out += [f"fault: {p}" for p in self.fault_problems]
        return out

    @property
    def ok(self) -> bool:
        return not self.failures

    def line(self) -> str:
        settled = self.settled_chain if self.settled_chain is not None else self.settled_requester
        escrow = "escrow 0" if self.escrow_wei == 0 else (
            "escrow unread" if self.escrow_wei is None else f"escrow {self.escrow_wei / 10**18:.6g} ETH")
        audit = {True: "audit exact", False: "audit NOT exact", None: "no audit"}[self.audit_ok]
        recovery = self.recovery_s
        if recovery is None:
            timing = "no last settlement" if self.last_settlement_s is None else "the fault never ended"
        elif self.throughout:
            timing = (f"{recovery:.1f} s from the fault's end to the last settlement (the fault lasts the whole "
                      "run: counted from the first batch's opening)")
        elif self.cut_short and self.fault_start_s is not None and self.last_settlement_s is not None:
            timing = (f"every task settled during the fault, {self.last_settlement_s - self.fault_start_s:.1f} s "
                      "after it began (0 s from the fault's end to the last settlement)")
        elif recovery < 0:
            timing = f"every task settled {-recovery:.1f} s before the fault's end"
        else:
            timing = f"{recovery:.1f} s from the fault's end to the last settlement"
        head = f"fault {self.name}: settled {settled}/{self.n_tasks}, {escrow}, {audit}, {timing}"
        if self.ok:
            return head + f" ({self.wall_s:.0f} s in all)"
        said = ("settled ", "escrow ") if self.settled_requester == self.settled_chain else ("escrow ",)
        rest = [f for f in self.failures if not f.startswith(said)]  # the head says those already
        return head + f" -- FAILED after {self.wall_s:.0f} s" + (": " + "; ".join(rest) if rest else "")


# --- running a case ---------------------------------------------------------------------------------


class _Progress:
    """run_fleet's progress protocol: records when the requester's settled count grows, and stops the
    run at the soft deadline (raised from inside run_fleet's loop, so it stops the agents itself)."""

    SETTLED = "tasks settled on chain"

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.settled = 0
        self.settled_at: list[tuple[float, int]] = []
        self._tasks: dict[int, str] = {}

    def add_task(self, description: str, total: int | None = None) -> int:
        self._tasks[len(self._tasks)] = description
        return len(self._tasks) - 1

    def update(self, task: int, completed: int | None = None, **_: Any) -> None:
        if self._tasks.get(task) == self.SETTLED and completed is not None and completed != self.settled:
            self.settled = completed
            self.settled_at.append((time.monotonic(), completed))
        if time.monotonic() > self.deadline:
            raise CaseTimeout


class _LogCapture(logging.Handler):
    """The in-process requester's log: written to requester.log, warnings counted, tracebacks noted."""

    def __init__(self, path: Path) -> None:
        super().__init__(logging.INFO)
        self.stream = path.open("a", encoding="utf-8")
        self.warnings = 0
        self.tracebacks: list[str] = []
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        text = self.format(record)
        self.stream.write(text + "\n")
        self.stream.flush()
        if record.levelno >= logging.WARNING:
            self.warnings += 1
        if "Traceback" in text and len(self.tracebacks) < 3:
            self.tracebacks.append(record.getMessage()[:200])

    def close(self) -> None:
        self.stream.close()
        super().close()


@contextlib.contextmanager
def _captured_logs(path: Path) -> Iterator[_LogCapture]:
    handler = _LogCapture(path)
    loggers = [logging.getLogger(name) for name in ("poq", "offchain")]
    saved = [(lg.level, lg.propagate) for lg in loggers]
    for lg in loggers:  # INFO and up to the case's file only, not to the caller's handlers
        lg.addHandler(handler)
        lg.setLevel(logging.INFO)
        lg.propagate = False
    try:
        yield handler
    finally:
        for lg, (level, propagate) in zip(loggers, saved, strict=True):
            lg.removeHandler(handler)
            lg.setLevel(level)
            lg.propagate = propagate
        handler.close()


def replay_records(n_tasks: int) -> list[Any]:
    from offchain.data import load

    records = load(RUN_400 / "tasks.jsonl")
    return (records * (n_tasks // len(records) + 1))[:n_tasks]


def fleet_config(work: Path, rpc_url: str, *, pace: float = PACE, in_flight: int = IN_FLIGHT) -> Any:
    """2 replaying inference nodes, 3 replaying evaluators (K = 3), batches of 8, events over ws.

    The generators take `pace` times their logged time to answer (`+paced`), so a workload lasts long
    enough for a fault to land inside it (unpaced, 24 tasks settle about a second after the first opens)."""
    from poq.fleet.config import NodeSpec, load_config
    from simulation.pipeline.replay_logs import write_replay_logs

    replay = work / "replay-logs"
    generations, scores = replay / "generations.jsonl", replay / "scores.jsonl"
    if not (generations.is_file() and scores.is_file()):
        generations, scores, _ = write_replay_logs(RUN_400, replay)
    config = load_config(None, {"rpc_url": rpc_url, "transport": "ws", "batch_size": BATCH_SIZE,
                                "max_in_flight": in_flight, "params": {"k": 3, "maxBatchSize": BATCH_SIZE}})
    suffix = f"+paced{pace:g}" if pace > 0 else ""
    config.inference = [NodeSpec(model=f"replay:{generations}#{m}{suffix}") for m in GENERATORS]
    config.evaluators = [NodeSpec(model=f"replay:{scores}#{m}") for m in EVALUATORS]
    return config


def run_case(case: FaultCase, work: Path, *, n_tasks: int = 24, limit_s: float | None = None,
             pace: float = PACE, in_flight: int = IN_FLIGHT, hard_grace_s: float = 45.0) -> CaseResult:
    """Run one case in `work/<name>` and check it; never hangs past `limit_s` + `hard_grace_s`.

    The soft limit is checked in run_fleet's loop (it then stops the agents and returns); the hard one
    (only in the main thread) sends this process SIGTERM, which run_fleet turns into a clean stop too.
    """
    from poq.fleet.run import run_fleet

    injector = case.injector()
    case_dir = work / case.name
    case_dir.mkdir(parents=True, exist_ok=True)
    run_dir = case_dir / "run"
    result = CaseResult(case.name, injector.plan(), n_tasks, injector.throughout, run_dir=run_dir)
    limit = limit_s if limit_s is not None else case.limit_s
    started = time.monotonic()
    chain = Anvil(case_dir, injector.flags, state_file=injector.state_file)
    chain.start()
    ctx = FaultContext(chain, run_dir / "deployments", n_tasks, started=started)
    progress = _Progress(started + limit)
    threads = [_Watcher(ctx), threading.Thread(target=_guarded(injector.run, ctx), name="fault-injector",
                                               daemon=True)]
    hard = _HardStop(started + limit + hard_grace_s)
    try:
        for thread in threads:
            thread.start()
        with _captured_logs(case_dir / "requester.log") as captured, hard:
            try:
                config = fleet_config(work, chain.url, pace=pace, in_flight=in_flight)
                fleet = run_fleet(config, run_dir, deployments_dir=ctx.deployments,
                                  records=replay_records(n_tasks), progress=progress)
                result.agent_exits += [f"{a.label}: exit code {a.process.returncode} ({a.log_path})"
                                       for a in fleet.agents
                                       if a.process is not None and a.process.returncode not in (0, -15, -9)]
            except CaseTimeout:
                result.timed_out = True
                result.error = f"stopped after {time.monotonic() - started:.0f} s (limit {limit:.0f} s)"
            except KeyboardInterrupt:
                if not hard.fired:
                    raise
                result.timed_out = True
                result.error = f"stopped by SIGTERM after {time.monotonic() - started:.0f} s (hung past the limit)"
            except Exception as exc:  # noqa: BLE001 - every way the fleet fails is a finding to report
                from offchain.errors import one_line

                text = one_line(exc, 400)
                if "exited with code" in text:
                    result.agent_exits.append(text)
                else:
                    result.error = f"{type(exc).__name__}: {text}"
            result.requester_warnings = captured.warnings
            result.tracebacks += [f"the requester's log: {t}" for t in captured.tracebacks]
    finally:
        ctx.stop.set()
        for thread in threads:
            thread.join(timeout=60)
        _kill_leftover_agents(run_dir)
        result.wall_s = time.monotonic() - started
        try:
            if not chain.answers():  # the outage's thread restores it; make sure
                chain.stop()
                chain.start()
            _check_books(result, ctx)
        finally:
            chain.stop()
    result.settled_requester = progress.settled
    result.tracebacks += _tracebacks(run_dir / "logs")
    result.notes, result.fault_problems = list(ctx.notes), list(ctx.problems)

    def since(t: float | None) -> float | None:
        return None if t is None else t - started

    result.fault_start_s, result.fault_end_s = since(ctx.fault_start), since(ctx.fault_end)
    result.cut_short = ctx.cut_short
    result.last_settlement_s = since(ctx.last_settlement)
    result.requester_last_settlement_s = since(progress.settled_at[-1][0] if progress.settled_at else None)
    if result.last_settlement_s is None and result.settled_chain == n_tasks:
        result.last_settlement_s = result.requester_last_settlement_s  # settled between two polls
    if ctx.fault_start is None and not result.timed_out and not result.error:
        result.fault_problems.append("the fault was never injected")
    return result


def _guarded(body: Callable[[FaultContext], None], ctx: FaultContext) -> Callable[[], None]:
    def run() -> None:
        try:
            body(ctx)
        except Exception as exc:  # noqa: BLE001 - a broken injector is reported, not raised in a thread
            ctx.problem(f"the injector raised {type(exc).__name__}: {exc}")
    return run


class _HardStop:
    """A timer that sends this process SIGTERM at `deadline` while armed (main thread only): run_fleet
    turns SIGTERM into KeyboardInterrupt after stopping its agents; outside run_fleet it raises CaseTimeout."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.fired = False
        self._timer: threading.Timer | None = None
        self._previous: Any = None

    def __enter__(self) -> _HardStop:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGTERM, self._raise)
            self._timer = threading.Timer(max(0.0, self.deadline - time.monotonic()), self._fire)
            self._timer.daemon = True
            self._timer.start()
        return self

    def _fire(self) -> None:
        self.fired = True
        os.kill(os.getpid(), signal.SIGTERM)

    def _raise(self, *_: Any) -> None:
        if self.fired:
            raise CaseTimeout
        raise KeyboardInterrupt("SIGTERM")  # someone else's: stop as Ctrl-C does

    def __exit__(self, *_: Any) -> None:
        if self._timer is not None:
            self._timer.cancel()
            signal.signal(signal.SIGTERM, self._previous)


def _check_books(result: CaseResult, ctx: FaultContext) -> None:
    """The audit and the escrow, read from the chain after the run."""
    from offchain.chain.client import PoQClient
    from offchain.chain.connect import connect
    from offchain.chain.manifest import load_manifest
    from offchain.errors import PoQError, one_line
    from poq.fleet.audit import audit

    try:
        w3 = connect(ctx.chain.url)
        client = PoQClient(w3, load_manifest(CHAIN_ID, ctx.deployments))
        result.escrow_wei = int(client.call("accounting")[2])
        report = audit(client)
    except (PoQError, RpcError, OSError, ValueError, KeyError) as exc:
        result.audit_summary = f"could not audit: {one_line(exc, 200)}"
        return
    result.settled_chain = report.tasks
    result.audit_ok = report.ok
    result.audit_summary = report.summary()


def _tracebacks(logs: Path) -> list[str]:
    found = []
    for path in sorted(logs.glob("*.log")) if logs.is_dir() else []:
        text = path.read_text(errors="replace")
        if "Traceback" in text:
            tail = text[text.index("Traceback"):].strip().splitlines()
            found.append(f"{path.name} ({text.count('Traceback')}x, first ends: {tail[-1][:160] if tail else ''})")
    return found


def _kill_leftover_agents(run_dir: Path) -> None:
    """SIGKILL any agent process of this run still alive (run_fleet stops them; this is the backstop
    for a hard stop that landed inside its cleanup). Matched by pid on this run's own directory."""
    marker = str(run_dir)
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else []:
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[-1].split()[0]
        except (OSError, IndexError):
            continue
        if "agent run" in cmdline and marker in cmdline and state != "Z":
            with contextlib.suppress(OSError):
                os.kill(int(entry.name), signal.SIGKILL)

