"""`poq compile` and `poq deploy`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from poq.cli.options import (
    KeyChoice,
    check_signing_chain,
    deployments_option,
    json_option,
    key_options,
    load_account,
    rpc_url_option,
)

contracts_option = click.option(
    "--contracts",
    "contracts_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Solidity sources (default: the repository's contracts/).",
)


@click.command("compile")
@contracts_option
@click.option("--via-ir", is_flag=True, help="Compile through the IR pipeline.")
def compile_cmd(contracts_dir: Path | None, via_ir: bool) -> None:
    """Compile the contracts (cached by source hash)."""
    from deploy.compiler import compile_contracts

    artifacts = compile_contracts(contracts_dir, via_ir=via_ir)
    origin = "cache" if artifacts.from_cache else "solc"
    click.echo(f"solc {artifacts.compiler_version}, sources {artifacts.source_hash[:12]} (from {origin})")
    for name in artifacts.names():
        artifact = artifacts.get(name)
        size = (len(artifact.deployed_bytecode.removeprefix("0x")) // 2) if artifact.deployed_bytecode else 0
        if size:
            click.echo(f"  {artifact.name:<24} {size:>6} bytes deployed")


def _parse_overrides(values: tuple[str, ...]) -> dict[str, str]:
    overrides = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"expected NAME=VALUE, got {item!r}", param_hint="--param")
        overrides[name.strip()] = value.strip()
    return overrides


@click.command("deploy")
@rpc_url_option
@deployments_option
@key_options
@contracts_option
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="Override a deployment parameter, e.g. k=2, betaF=0.25, aggregation=median "
    "(or aggregation=trust with trustRule=robust|published).",
)
@json_option
def deploy_cmd(
    rpc_url: str,
    deployments_dir: str,
    key: KeyChoice,
    contracts_dir: Path | None,
    params: tuple[str, ...],
    as_json: bool,
) -> None:
    """Deploy the PoQ contract and write deployments/<chainId>.json."""
    from deploy.compiler import compile_contracts
    from deploy.deployer import deploy_poq
    from offchain.chain.connect import connect
    from offchain.protocol import Params

    parameters = Params().with_overrides(_parse_overrides(params))
    account = load_account(key)
    w3 = connect(rpc_url)
    check_signing_chain(key, w3.eth.chain_id)
    manifest = deploy_poq(
        w3,
        account,
        parameters,
        artifacts=compile_contracts(contracts_dir),
        deployments_dir=Path(deployments_dir),
    )
    if as_json:
        click.echo(json.dumps({k: v for k, v in manifest.__dict__.items() if k != "abi"}, indent=2))
        return
    click.echo(f"ProofOfQuality deployed at {manifest.address}")
    click.echo(f"  chain {manifest.chain_id}, block {manifest.block_number}, tx {manifest.tx_hash}")
    click.echo(f"  manifest {Path(deployments_dir) / f'{manifest.chain_id}.json'}")
