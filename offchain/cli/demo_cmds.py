"""`poq demo`: a local chain, a fresh deployment and the on-chain balances, in one command."""

from __future__ import annotations

from pathlib import Path

import click

from offchain.cli.options import deployments_option


@click.command("demo")
@click.option("--port", type=click.IntRange(1, 65535), default=8545, show_default=True)
@deployments_option
def demo_cmd(port: int, deployments_dir: str) -> None:
    """Start anvil (if needed), deploy PoQ and print the contract and its balances table."""
    from deploy.compiler import compile_contracts
    from deploy.deployer import connect, deploy_poq, dev_account
    from deploy.localchain import chain_up
    from offchain.chain.client import PoQClient
    from offchain.chain.views import node_rows
    from offchain.cli.query_cmds import print_balances
    from offchain.protocol import Params

    status = chain_up(port=port)
    click.echo(f"chain at {status.rpc_url} (chain id {status.chain_id})")
    w3 = connect(status.rpc_url)
    manifest = deploy_poq(w3, dev_account(0), Params(), artifacts=compile_contracts(),
                          deployments_dir=Path(deployments_dir))
    click.echo(f"ProofOfQuality deployed at {manifest.address} (block {manifest.block_number})")
    client = PoQClient(w3, manifest)
    print_balances(client.address, node_rows(client))
    click.echo(f"stop the chain with `poq chain down --port {port}`")
