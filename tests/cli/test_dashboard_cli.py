"""`poq dashboard` bad input: the same one-line errors as the other commands, before anything serves."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from poq.cli import cli


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def one_line_error(code: int, out: str) -> str:
    assert code == 1 and "Traceback" not in out
    assert len(out.strip().splitlines()) == 1, out
    return out.strip()


def test_wrong_rpc_url_is_the_same_one_line_error_as_balances() -> None:
    from tests.conftest import free_port

    url = f"http://127.0.0.1:{free_port()}"
    dashboard = one_line_error(*run("dashboard", "--rpc-url", url, "--port", "0"))
    assert dashboard.startswith("Error: cannot reach an Ethereum JSON-RPC node")
    assert dashboard == one_line_error(*run("balances", "--rpc-url", url))


@pytest.mark.anvil
def test_missing_manifest_is_the_same_one_line_error_as_balances(anvil_chain: str, tmp_path: Path) -> None:
    missing = str(tmp_path / "none")
    dashboard = one_line_error(*run("dashboard", "--rpc-url", anvil_chain, "--deployments", missing, "--port", "0"))
    assert "no deployment manifest for chain 31337" in dashboard
    assert dashboard == one_line_error(*run("balances", "--rpc-url", anvil_chain, "--deployments", missing))


def test_taken_port_is_a_one_line_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = str(taken.getsockname()[1])
        # --wait: no chain is needed to reach the port check
        out = one_line_error(*run("dashboard", "--wait", "--rpc-url", "http://127.0.0.1:1", "--port", port))
    assert f"cannot serve the dashboard on 127.0.0.1:{port}" in out


def test_help_lists_the_dashboard() -> None:
    code, out = run("--help")
    assert code == 0 and "dashboard" in out
    code, out = run("dashboard", "--help")
    assert code == 0
    for option in ("--rpc-url", "--deployments", "--port", "--host", "POQ_RPC_URL"):
        assert option in out


@pytest.mark.anvil
def test_demo_goes_on_without_the_dashboard_when_its_port_is_taken(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import poq.cli.fleet_cmds as fleet_cmds
    from tests.conftest import free_port

    fleets: list[tuple[object, ...]] = []
    # no models here: the demo's fleet is replaced
    monkeypatch.setattr(fleet_cmds, "run_fleet_and_print", lambda *args, **kwargs: fleets.append(args))
    monkeypatch.chdir(tmp_path)
    port = str(free_port())
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        try:
            result = CliRunner().invoke(cli, ["demo", "--port", port, "--dashboard-port",
                                              str(taken.getsockname()[1])], catch_exceptions=False)
        finally:
            run("chain", "down", "--port", port)
    assert result.exit_code == 0, result.output
    assert "dashboard: not started (the dashboard exited with code 1: Error: cannot serve" in result.output
    assert len(fleets) == 1
