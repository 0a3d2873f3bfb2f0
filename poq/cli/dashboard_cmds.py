"""`poq dashboard`: serve a live, read-only web view of the deployment on this chain."""

from __future__ import annotations

import contextlib

import click

from poq.cli.options import deployments_option, rpc_url_option


@click.command("dashboard")
@rpc_url_option
@deployments_option
@click.option("--port", type=click.IntRange(0, 65535), default=8050, show_default=True,
              help="Port to serve on (0: any free port).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to serve on.")
@click.option("--wait", is_flag=True,
              help="Start even before the chain or its manifest exist; the page says what it waits for.")
@click.option("--exit-with-chain", is_flag=True, hidden=True,
              help="Stop once the chain has not answered for a few seconds (used by `poq demo`).")
def dashboard_cmd(rpc_url: str, deployments_dir: str, port: int, host: str, wait: bool,
                  exit_with_chain: bool) -> None:
    """Nodes, tasks by batch stage, settlements, reward, cost and trust plots and the contract's ETH,
    updated every block in the browser. Read only: built from the chain's views and events alone."""
    from offchain.dashboard.server import DashboardServer
    from offchain.dashboard.snapshot import ChainSource

    source = ChainSource(rpc_url, deployments_dir)
    contract = None if wait else source.check()
    server = DashboardServer(source, host, port, exit_with_chain=exit_with_chain)
    watching = f"PoQ at {contract}" if contract else "the deployment, once it exists"
    click.echo(f"dashboard at {server.url} (watching {watching} on {rpc_url}); Ctrl-C stops it")
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises the Ctrl-C it shut down on
        server.run()
    click.echo("dashboard stopped")
