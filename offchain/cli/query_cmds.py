"""`poq params`, `poq task show`, `poq balances`, `poq withdraw`: reads and payouts on chain."""

from __future__ import annotations

import json
from typing import Any

import click

from offchain.cli.options import (
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
    from offchain.protocol import AGGREGATIONS, TRUST_RULES, WAD
    from offchain.protocol.params import WAD_FIELDS

    client = _client(rpc_url, deployments_dir)
    values = client.params()
    if as_json:
        click.echo(json.dumps({"address": client.address, **values}, indent=2))
        return
    click.echo(f"ProofOfQuality at {client.address} (chain {client.manifest.chain_id})")
    for name, value in values.items():
        shown = str(value)
        if name in WAD_FIELDS:
            shown = f"{value / WAD:g}  ({value} WAD)"
        elif name == "aggregation":
            shown = AGGREGATIONS[value]
        elif name == "trustRule":
            shown = TRUST_RULES[value]
        elif name in {"rewardUnit", "minStake"}:
            shown = f"{eth(value)} ETH  ({value} wei)"
        elif name.endswith(("Window", "Delay", "Length")):
            shown = f"{value} s"
        click.echo(f"  {name:<16} {shown}")


@click.group("task")
def task_group() -> None:
    """Inspect tasks."""


@task_group.command("show")
@click.argument("task_id", type=click.IntRange(min=1))
@rpc_url_option
@deployments_option
@json_option
def task_show_cmd(task_id: int, rpc_url: str, deployments_dir: str, as_json: bool) -> None:
    """A task's phase, panel, scores, texts and settlement."""
    from offchain.chain.views import task_story

    story = task_story(_client(rpc_url, deployments_dir), task_id)
    if as_json:
        click.echo(json.dumps(story, indent=2))
        return
    click.echo(
        f"task {task_id}: {story['phase']} (deadline {story['deadline']}), fee {eth(story['fee_wei'])} ETH"
    )
    click.echo(f"  requester {story['requester']}\n  node      {story['node']}")
    for key in ("input", "output", "reference"):
        text = story[key]
        if text is not None:
            click.echo(f"  {key:<9} {_clip(text)}")
    for seat in story["evaluators"]:
        state = (
            f"score {seat['score']:g}"
            if seat["revealed"]
            else ("committed" if seat["committed"] else "silent")
        )
        click.echo(f"  evaluator {seat['address']}  {state}")
    if story["quality"] is not None:
        click.echo(f"  quality Q = {story['quality']:.4f}")
    for account, reward in story["rewards"].items():
        click.echo(f"  reward {account}  {reward['reward']:+.4f}  ({eth(reward['wei'])} ETH)")


def _clip(text: str, width: int = 100) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


@click.command("balances")
@rpc_url_option
@deployments_option
@json_option
def balances_cmd(rpc_url: str, deployments_dir: str, as_json: bool) -> None:
    """Per node: role, model, stake, withdrawable balance, cumulative reward, jobs, average reward."""
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
        "latency ms",
        "trust",
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
            f"{row.trust:.3f}" if row.trust is not None else "-",
        )
    if not rows:
        table.caption = "no nodes registered yet"
    Console(width=160).print(table)


@click.command("withdraw")
@rpc_url_option
@deployments_option
@key_options
@click.option("--amount", type=click.IntRange(min=1), default=None, help="Wei to withdraw (default: all).")
def withdraw_cmd(
    rpc_url: str, deployments_dir: str, key_index: int, private_key: str | None, amount: int | None
) -> None:
    """Withdraw the signer's credited balance (rewards and refunds)."""
    client = _client(rpc_url, deployments_dir, load_account(key_index, private_key))
    available = int(client.node(client.sender)["balance"])
    value = available if amount is None else amount
    if value == 0:
        click.echo(f"{client.sender} has nothing to withdraw")
        return
    receipt = client.transact("withdraw", value)
    click.echo(
        f"withdrew {eth(value)} ETH to {client.sender} (tx 0x{bytes(receipt['transactionHash']).hex()})"
    )
