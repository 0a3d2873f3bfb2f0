"""`poq params`, `poq task show`, `poq balances`, `poq withdraw`: reads and payouts on chain."""

from __future__ import annotations

import json
from typing import Any

import click

from poq.cli.options import (
    KeyChoice,
    check_signing_chain,
    deployments_option,
    eth,
    json_option,
    key_options,
    load_account,
    rpc_url_option,
)


def _client(rpc_url: str, deployments_dir: str, account: Any = None) -> Any:
    from offchain.chain.client import PoQClient

    return PoQClient.connect(rpc_url, account, deployments_dir)


@click.command("params")
@rpc_url_option
@deployments_option
@json_option
def params_cmd(rpc_url: str, deployments_dir: str, as_json: bool) -> None:
    """The deployed contract's parameters, read from chain."""
    from offchain.protocol.display import WEI_FIELDS, param_text
    from offchain.protocol.params import WAD_FIELDS

    client = _client(rpc_url, deployments_dir)
    values = client.params()
    if as_json:
        click.echo(json.dumps({"address": client.address, **values}, indent=2))
        return
    click.echo(f"ProofOfQuality at {client.address} (chain {client.manifest.chain_id})")
    for name, value in values.items():
        unit = "WAD" if name in WAD_FIELDS else "wei" if name in WEI_FIELDS else None
        raw = f"  ({value} {unit})" if unit else ""
        click.echo(f"  {name:<16} {param_text(name, value)}{raw}")


@click.group("task")
def task_group() -> None:
    """Inspect tasks."""


@task_group.command("show")
@click.argument("task_id", type=click.IntRange(min=1))
@rpc_url_option
@deployments_option
@json_option
def task_show_cmd(task_id: int, rpc_url: str, deployments_dir: str, as_json: bool) -> None:
    """A task's batch stage, node, panel, scores, texts and settlement."""
    from offchain.chain.views import task_story

    story = task_story(_client(rpc_url, deployments_dir), task_id)
    if as_json:
        click.echo(json.dumps(story, indent=2))
        return
    click.echo(
        f"task {task_id} (batch {story['batch_id']}, #{story['index']}): {story['stage']}"
        f" (deadline {story['deadline']}), fee {eth(story['fee_wei'])} ETH"
    )
    click.echo(f"  requester {story['requester']}\n  node      {story['node'] or '(not drawn yet)'}")
    for key in ("input", "output", "reference"):
        text = story[key]
        if text is not None:
            click.echo(f"  {key:<9} {_clip(text)}")
    for seat in story["evaluators"]:
        state = f"score {seat['score']:g}" if seat["score"] is not None else "no score revealed"
        click.echo(f"  evaluator {seat['address']}  {state}")
    if story["expired"]:
        click.echo("  expired: the node never answered (slashed; the fee for it refunded)")
    elif story["quality"] is not None:
        click.echo(f"  quality Q = {story['quality']:.4f}")
    for account, reward in (story["rewards"] or {}).items():
        click.echo(f"  reward {account}  {reward['reward']:+.4f}")


def _clip(text: str, width: int = 100) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


@click.command("balances")
@rpc_url_option
@deployments_option
@json_option
def balances_cmd(rpc_url: str, deployments_dir: str, as_json: bool) -> None:
    """Per node: role, model, stake, balance, cumulative and average reward, jobs, measured cost, trust."""
    from offchain.chain.views import node_rows

    client = _client(rpc_url, deployments_dir)
    rows = node_rows(client)
    if as_json:
        click.echo(json.dumps({"contract": client.address, "nodes": [r.as_dict() for r in rows]}, indent=2))
        return
    print_balances(client.address, rows)


def print_balances(address: str, rows: list[Any]) -> None:
    """The balances table (the paper's Table 4, settled on chain)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"PoQ balances at {address}", title_justify="left")
    for header in (
        "node",
        "role",
        "model",
        "status",
        "stake ETH",
        "balance ETH",
        "cum. reward",
        "jobs",
        "avg reward",
        "cost ms",
        "declared ms",
        "trust",
        "info",
    ):
        table.add_column(header, justify="left" if header in {"node", "role", "model", "status"} else "right")
    for row in rows:
        table.add_row(
            row.address[:10] + "…",
            row.role,
            row.model,
            row.status,
            eth(row.stake_wei),
            eth(row.balance_wei),
            f"{row.cumulative_reward:+.3f}",
            str(row.jobs),
            f"{row.average_reward:+.3f}",
            f"{row.latency_ms:.1f}" if row.latency_ms is not None else "-",
            f"{row.declared_ms:.1f}" if row.declared_ms is not None else "-",
            f"{row.trust:.3f}" if row.trust is not None else "-",
            f"{row.information:+.3f}" if row.information is not None else "-",
        )
    table.caption = ("cost: the contract's measured response time per task or seat (what rewards use); "
                     "declared: the node's own claim, checked against it; info: an evaluator's mean "
                     "informativeness per seat (what the peer rule pays)") if rows else "no nodes registered yet"
    Console(width=160).print(table)


@click.command("withdraw")
@rpc_url_option
@deployments_option
@key_options
@click.option("--amount", type=click.IntRange(min=1), default=None, help="Wei to withdraw (default: all).")
def withdraw_cmd(
    rpc_url: str, deployments_dir: str, key: KeyChoice, amount: int | None
) -> None:
    """Withdraw the signer's credited balance (rewards and refunds)."""
    client = _client(rpc_url, deployments_dir, load_account(key))
    check_signing_chain(key, client.manifest.chain_id)
    available = int(client.node(client.sender)["balance"])
    value = available if amount is None else amount
    if value == 0:
        click.echo(f"{client.sender} has nothing to withdraw")
        return
    receipt = client.transact("withdraw", value)
    click.echo(
        f"withdrew {eth(value)} ETH to {client.sender} (tx 0x{bytes(receipt['transactionHash']).hex()})"
    )
