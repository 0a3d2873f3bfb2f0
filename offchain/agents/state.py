"""An agent's durable state: block cursor, per-batch work, salts, sent transactions. SQLite, one file per key.

Everything an agent must remember across a crash is written here *before* the transaction that
depends on it is sent: its outputs before `submitAnswers`, its scores and salt before `commitScores`,
a declared latency and its salt before `commitCost`, a batch's references and salt before
`openBatch`. On restart the agent compares this with the chain. A lock file keyed by chain and address
keeps two agents from running with the same key (they would race for nonces and lose transactions).
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from offchain.errors import StateError

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS batches (
    batch_id INTEGER PRIMARY KEY,
    status TEXT NOT NULL,            -- role-specific: drawn/answering/answered, selected/committing/...
    data TEXT NOT NULL DEFAULT '{}', -- JSON: outputs, scores, salt, references ...
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS costs (
    epoch INTEGER PRIMARY KEY,
    latency_us INTEGER NOT NULL,
    salt TEXT NOT NULL,
    status TEXT NOT NULL             -- committing / committed / revealed / missed
);
CREATE TABLE IF NOT EXISTS latencies (at REAL NOT NULL, seconds REAL NOT NULL);
CREATE TABLE IF NOT EXISTS txs (
    tx_hash TEXT PRIMARY KEY, fn TEXT NOT NULL, batch_id INTEGER, sent REAL NOT NULL,
    nonce INTEGER, status TEXT, block INTEGER   -- the transaction an action rests on, and where it stands
);
"""
TX_COLUMNS = {"nonce": "INTEGER", "status": "TEXT", "block": "INTEGER"}  # added to states written before them


def lock_dir() -> Path:
    """Where single-instance locks live (machine-wide, so two state dirs still cannot share a key)."""
    from offchain.models.packages import cache_root

    return cache_root() / "locks"


class AgentState:
    """The SQLite state of one agent (one key on one chain and contract)."""

    def __init__(
        self, path: Path, *, chain_id: int, contract: str, address: str, role: str, genesis: str = "",
        deployment_block: int | None = None,
    ) -> None:
        """`genesis` (the chain's block-0 hash) tells apart local chains that share a chain id, and
        `deployment_block` two deployments at the same address (a fresh chain replaying the same
        deployer's nonces): the state is bound to all of them."""
        self.path = path
        self.address = address
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_handle = _acquire_lock(f"{chain_id}-{genesis.removeprefix('0x')[:16]}", address, role)
        self.db = sqlite3.connect(path, isolation_level=None)  # autocommit: each write is durable
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)
        have = {row[1] for row in self.db.execute("PRAGMA table_info(txs)")}
        for column, kind in TX_COLUMNS.items():
            if column not in have:
                self.db.execute(f"ALTER TABLE txs ADD COLUMN {column} {kind}")
        try:
            self._check_identity(chain_id, contract, address, role)
            self._check_chain(genesis, deployment_block)
        except StateError:
            self.close()  # a refused state holds no lock: the next try (or another agent) may take it
            raise

    def close(self) -> None:
        self.db.close()
        fcntl.flock(self._lock_handle, fcntl.LOCK_UN)
        self._lock_handle.close()

    def _check_identity(self, chain_id: int, contract: str, address: str, role: str) -> None:
        expected = {"chain_id": str(chain_id), "contract": contract.lower(), "address": address.lower(), "role": role}
        stored = {k: v for k, v in self.db.execute("SELECT key, value FROM meta").fetchall() if k in expected}
        if stored and any(stored.get(k) != v for k, v in expected.items()):
            raise StateError(
                f"state file {self.path} belongs to another agent "
                f"({stored.get('role')} {stored.get('address')} on chain {stored.get('chain_id')} "
                f"contract {stored.get('contract')}): use a different --state-dir"
            )
        for key, value in expected.items():
            self.db.execute("INSERT OR IGNORE INTO meta VALUES (?, ?)", (key, value))

    def _check_chain(self, genesis: str, deployment_block: int | None) -> None:
        """The state's chain: its genesis hash and the contract's deployment block, written on first use
        (a state from before they were recorded adopts them) and refused when they differ."""
        block = "" if deployment_block is None else str(deployment_block)
        expected = {"genesis": genesis.lower(), "deployment_block": block}
        for key, value in expected.items():
            stored = self.get_meta(key)
            if value and stored and stored != value:
                raise StateError(
                    f"state file {self.path} belongs to another chain or deployment ({key} {stored}, this one has "
                    f"{value}): a chain restarted without its --state starts over; use a fresh --state-dir or "
                    f"delete {self.path.name}"
                )
            if value and not stored:
                self.set_meta(key, value)

    # ------------------------------------------------------------------ meta and cursor

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def delete_meta(self, key: str) -> None:
        self.db.execute("DELETE FROM meta WHERE key = ?", (key,))

    def meta_like(self, prefix: str) -> list[tuple[str, str]]:
        return [(str(k), str(v)) for k, v in
                self.db.execute("SELECT key, value FROM meta WHERE key LIKE ?", (prefix + "%",))]

    @property
    def cursor(self) -> int | None:
        """The first block whose events are not all handled yet."""
        value = self.get_meta("cursor")
        return int(value) if value is not None else None

    @cursor.setter
    def cursor(self, block: int) -> None:
        self.set_meta("cursor", str(block))

    # ------------------------------------------------------------------ batches

    def upsert(self, batch_id: int, status: str, **data: Any) -> None:
        """Set a batch's status, merging `data` into what is stored."""
        merged = {**self.data(batch_id), **data}
        self.db.execute(
            "INSERT OR REPLACE INTO batches VALUES (?, ?, ?, ?)",
            (batch_id, status, json.dumps(merged), time.time()),
        )

    def reset(self, batch_id: int, status: str, **data: Any) -> None:
        """Set a batch's status and replace what is stored by `data` (a redraw after a reorg)."""
        self.db.execute("INSERT OR REPLACE INTO batches VALUES (?, ?, ?, ?)",
                        (batch_id, status, json.dumps(data), time.time()))

    def add_if_new(self, batch_id: int, status: str, **data: Any) -> bool:
        cur = self.db.execute(
            "INSERT OR IGNORE INTO batches VALUES (?, ?, ?, ?)", (batch_id, status, json.dumps(data), time.time())
        )
        return cur.rowcount == 1

    def data(self, batch_id: int) -> dict[str, Any]:
        row = self.db.execute("SELECT data FROM batches WHERE batch_id = ?", (batch_id,)).fetchone()
        return json.loads(row[0]) if row else {}

    def status(self, batch_id: int) -> str | None:
        row = self.db.execute("SELECT status FROM batches WHERE batch_id = ?", (batch_id,)).fetchone()
        return str(row[0]) if row else None

    def batches(self, *statuses: str) -> list[tuple[int, str, dict[str, Any]]]:
        marks = ",".join("?" * len(statuses))
        rows = self.db.execute(
            f"SELECT batch_id, status, data FROM batches WHERE status IN ({marks}) ORDER BY batch_id", statuses
        ).fetchall()
        return [(int(b), str(s), json.loads(d)) for b, s, d in rows]

    def count(self, *statuses: str) -> int:
        marks = ",".join("?" * len(statuses))
        row = self.db.execute(f"SELECT COUNT(*) FROM batches WHERE status IN ({marks})", statuses).fetchone()
        return int(row[0])

    # ------------------------------------------------------------------ costs and latencies

    def record_latency(self, seconds: float) -> None:
        self.db.execute("INSERT INTO latencies VALUES (?, ?)", (time.time(), seconds))

    def mean_latency(self, last: int = 50) -> float | None:
        row = self.db.execute(
            "SELECT AVG(seconds) FROM (SELECT seconds FROM latencies ORDER BY at DESC LIMIT ?)", (last,)
        ).fetchone()
        return float(row[0]) if row and row[0] is not None else None

    def cost_reports(self, *statuses: str) -> list[tuple[int, int, bytes, str]]:
        marks = ",".join("?" * len(statuses))
        rows = self.db.execute(
            f"SELECT epoch, latency_us, salt, status FROM costs WHERE status IN ({marks}) ORDER BY epoch",
            statuses,
        ).fetchall()
        return [(int(e), int(lat), bytes.fromhex(s), str(st)) for e, lat, s, st in rows]

    def set_cost(self, epoch: int, latency_us: int, salt: bytes, status: str) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO costs VALUES (?, ?, ?, ?)", (epoch, latency_us, salt.hex(), status)
        )

    # ------------------------------------------------------------------ transactions

    def record_tx(self, tx_hash: bytes, fn: str, batch_id: int | None, *, nonce: int | None = None,
                  status: str = "sent", block: int | None = None) -> None:
        """Which transaction an action rests on and where it stands: sent, replaced (a new hash at the
        same nonce), resent, reorged, confirmed, reverted or abandoned."""
        self.db.execute(
            "INSERT INTO txs (tx_hash, fn, batch_id, sent, nonce, status, block) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(tx_hash) DO UPDATE SET status = excluded.status, block = excluded.block",
            ("0x" + tx_hash.hex(), fn, batch_id, time.time(), nonce, status, block),
        )

    def transactions(self, batch_id: int | None = None) -> list[dict[str, Any]]:
        """The recorded transactions (of one batch), oldest first."""
        query = "SELECT tx_hash, fn, batch_id, nonce, status, block FROM txs"
        rows = self.db.execute(query + (" WHERE batch_id = ?" if batch_id is not None else "") + " ORDER BY sent",
                               () if batch_id is None else (batch_id,)).fetchall()
        keys = ("tx_hash", "fn", "batch_id", "nonce", "status", "block")
        return [dict(zip(keys, row, strict=True)) for row in rows]


def genesis_hash(w3: Any) -> str:
    """The hash of block 0: anvils started at different times differ though they share chain id 31337."""
    return "0x" + bytes(w3.eth.get_block(0)["hash"]).hex()


def _acquire_lock(network: str, address: str, role: str) -> Any:
    directory = lock_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{network}-{address.lower()}.lock"
    handle = open(path, "a+")  # noqa: SIM115 - held open for the agent's lifetime
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        owner = handle.read().strip() or "another process"
        handle.close()
        raise StateError(
            f"another agent ({owner}) is already running with key {address} on chain {network.split('-')[0]}: "
            "give every agent its own key (--keystore FILE or --dev-key N)"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}, {role}")
    handle.flush()
    return handle
