"""The `poq` command line: a thin click group whose subcommands live in small modules.

Each subcommand parses its options, calls one library function and prints. Any PoQError becomes a
one-line message (click.ClickException) instead of a traceback. Heavy imports (web3, torch) happen
inside the commands, so `poq --help` stays instant.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

import click

from offchain.errors import PoQError

# Subcommand modules: each defines a click command or group named `command`.
_SUBCOMMANDS = {
    "compile": "poq.cli.deploy_cmds:compile_cmd",
    "deploy": "poq.cli.deploy_cmds:deploy_cmd",
    "chain": "poq.cli.chain_cmds:chain_group",
    "params": "poq.cli.query_cmds:params_cmd",
    "task": "poq.cli.query_cmds:task_group",
    "balances": "poq.cli.query_cmds:balances_cmd",
    "withdraw": "poq.cli.query_cmds:withdraw_cmd",
    "account": "poq.cli.account_cmds:account_group",
    "models": "poq.cli.models_cmds:models_group",
    "agent": "poq.cli.agent_cmds:agent_group",
    "fleet": "poq.cli.fleet_cmds:fleet_group",
    "demo": "poq.cli.demo_cmds:demo_cmd",
    "dashboard": "poq.cli.dashboard_cmds:dashboard_cmd",
    "simulate": "poq.cli.simulate_cmds:simulate_cmd",
    "eval": "poq.cli.eval_cmds:eval_group",
    "report": "poq.cli.report_cmds:report_cmd",
}


class LazyGroup(click.Group):
    """Imports a subcommand's module only when that subcommand runs (keeps --help fast)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name in _SUBCOMMANDS if self._available(name))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = _SUBCOMMANDS.get(name)
        if target is None or not self._available(name):
            return None
        module_name, attr = target.split(":")
        command: click.Command = getattr(importlib.import_module(module_name), attr)
        return command

    @staticmethod
    def _available(name: str) -> bool:
        module_name = _SUBCOMMANDS[name].split(":")[0]
        return importlib.util.find_spec(module_name) is not None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PoQError as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="poq")
def cli() -> None:
    """poq: cost-aware Proof of Quality for decentralized LLM inference."""


def main() -> None:
    cli(prog_name="poq")


if __name__ == "__main__":
    main()
