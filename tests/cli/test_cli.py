"""The `poq` commands as a user runs them: one-line errors, deploy, params, balances, task, withdraw."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from poq.cli import cli


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_help_lists_the_commands() -> None:
    code, out = run("--help")
    assert code == 0
    for command in ("chain", "deploy", "params", "balances", "task", "withdraw", "demo"):
        assert command in out


def test_wrong_rpc_url_is_a_one_line_error() -> None:
    from tests.conftest import free_port

    code, out = run("balances", "--rpc-url", f"http://127.0.0.1:{free_port()}")
    assert code == 1
    assert out.startswith("Error: cannot reach an Ethereum JSON-RPC node")
    assert len(out.strip().splitlines()) == 1 and "Traceback" not in out


def test_unsupported_rpc_url_scheme_is_a_one_line_error() -> None:
    code, out = run("params", "--rpc-url", "ftp://nowhere")
    assert code == 1 and "unsupported RPC URL" in out and len(out.strip().splitlines()) == 1


def test_unknown_parameter_is_a_one_line_error() -> None:
    code, out = run("deploy", "--param", "alphaf=1", "--rpc-url", "http://127.0.0.1:1")
    assert code == 1 and "did you mean 'alphaF'" in out


@pytest.mark.parametrize("param, named", [
    ("evaluatorReward=median", "evaluatorReward must be one of paper, peer"),
    ("costQuantile=1.5", "costQuantile must be in (0, 1)"),
    ("costQuantile=0", "costQuantile must be in (0, 1)"),
    ("referenceBond=" + str(2**88), "referenceBond must be at most 2^88 - 1 wei"),
    ("feeRule=free", "feeRule must be one of refund, fixed"),
    ("trustRule=agreeing", "trustRule must be one of published, robust, informative"),
])
def test_out_of_range_rule_parameters_are_one_line_errors(param: str, named: str) -> None:
    """Refused before anything is sent (the constructor refuses them too: test_attacks_registry.py)."""
    code, out = run("deploy", "--param", param, "--rpc-url", "http://127.0.0.1:1")
    assert code == 1 and named in out, out
    assert len(out.strip().splitlines()) == 1 and "Traceback" not in out


def test_peer_rule_at_k1_is_a_one_line_error_naming_the_fix() -> None:
    code, out = run("deploy", "--param", "k=1", "--rpc-url", "http://127.0.0.1:1")
    assert code == 1 and "evaluatorReward=peer needs k >= 2" in out and "evaluatorReward=paper" in out
    code, _ = run("deploy", "--param", "k=1", "--param", "evaluatorReward=paper", "--rpc-url", "http://127.0.0.1:1")
    assert code == 1  # past the parameters: only the unreachable node is left to complain about


@pytest.mark.anvil
def test_missing_manifest_is_a_one_line_error(anvil_chain: str, tmp_path: Path) -> None:
    code, out = run("params", "--rpc-url", anvil_chain, "--deployments", str(tmp_path / "none"))
    assert code == 1
    assert "no deployment manifest for chain 31337" in out and "poq deploy" in out
    assert len(out.strip().splitlines()) == 1


@pytest.mark.anvil
def test_deploy_then_read_params_balances_task_and_withdraw(anvil_chain: str, tmp_path: Path) -> None:
    from deploy.devnet import Devnet
    from offchain.chain.client import PoQClient
    from offchain.chain.connect import connect

    deployments = str(tmp_path / "deployments")
    code, out = run("deploy", "--rpc-url", anvil_chain, "--deployments", deployments, "--param", "k=2",
                    "--param", "betaF=0.25")
    assert code == 0, out
    assert "ProofOfQuality deployed at 0x" in out

    code, out = run("params", "--rpc-url", anvil_chain, "--deployments", deployments, "--json")
    params = json.loads(out)
    assert params["k"] == 2 and params["betaF"] == 25 * 10**16

    # play one round against the deployed contract with dev keys 1.. (the CLI deployed with key 0)
    from offchain.protocol import Params

    w3 = connect(anvil_chain)
    net = Devnet.create(w3, Params(k=2, betaF=25 * 10**16), deployments_dir=tmp_path / "devnet",
                        n_evaluators=2, first_key=0)
    client = PoQClient.connect(anvil_chain, deployments_dir=tmp_path / "devnet")
    result = net.play_round([7_000, 9_000], reference="gold")
    devnet_dir = str(tmp_path / "devnet")

    code, out = run("balances", "--rpc-url", anvil_chain, "--deployments", devnet_dir, "--json")
    assert code == 0
    rows = {row["address"]: row for row in json.loads(out)["nodes"]}
    node_row = rows[result["node"]]
    assert node_row["jobs"] == 1 and node_row["role"] == "Inference"
    jobs, reward_wad, amount_wei = result["settled"][result["node"]]
    assert node_row["balance_wei"] == amount_wei and jobs == 1
    assert node_row["cumulative_reward"] == reward_wad / 10**18

    code, out = run("balances", "--rpc-url", anvil_chain, "--deployments", devnet_dir)
    assert code == 0 and "inference-0" in out and "evaluator-1" in out

    code, out = run("task", "show", str(result["task_id"]), "--rpc-url", anvil_chain, "--deployments", devnet_dir)
    assert code == 0
    assert "Finalized" in out and "reference gold" in out and "score 7" in out

    node_index = 2 + [c.sender for c in net.inference].index(result["node"])  # keys: owner, requester, nodes
    code, out = run("withdraw", "--rpc-url", anvil_chain, "--deployments", devnet_dir, "--key-index",
                    str(node_index))
    assert code == 0 and out.startswith("withdrew")
    assert int(client.node(result["node"])["balance"]) == 0

    code, out = run("withdraw", "--rpc-url", anvil_chain, "--deployments", devnet_dir, "--key-index",
                    str(node_index), "--amount", "5")
    assert code == 1
    assert "InsufficientBalance(" in out and "requested=5, available=0" in out
    assert len(out.strip().splitlines()) == 1


@pytest.mark.anvil
def test_chain_up_status_down(tmp_path: Path) -> None:
    from tests.conftest import free_port, selected_evm

    port = str(free_port())
    state = tmp_path / "state"
    code, out = run("chain", "up", "--port", port, "--state-dir", str(state), "--client", selected_evm())
    try:
        assert code == 0 and f"{selected_evm()} chain up at http://127.0.0.1:" in out
        code, out = run("chain", "status", "--port", port, "--state-dir", str(state), "--json")
        status = json.loads(out)
        assert status["running"] is True and status["chain_id"] == 31337
        assert status["client"] == selected_evm()
    finally:
        code, out = run("chain", "down", "--port", port, "--state-dir", str(state))
    assert code == 0 and "stopped" in out
    code, out = run("chain", "status", "--port", port, "--state-dir", str(state))
    assert "not running" in out


@pytest.mark.anvil
@pytest.mark.models
@pytest.mark.slow
def test_demo_starts_a_chain_deploys_and_prints_balances(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from tests.conftest import free_port

    monkeypatch.chdir(tmp_path)
    port = str(free_port())
    try:
        code, out = run("demo", "--port", port, "--tasks", "3")
        assert code == 0, out
        manifest = json.loads((tmp_path / "deployments" / "31337.json").read_text())
        assert f"PoQ balances at {manifest['address']}" in out
        assert "3 tasks settled" in out
        for model in ("smollm2-135m", "gemma3-270m", "qwen2.5-coder-0.5b", "minilm-l6", "mpnet-base", "ce-minilm-l12"):
            assert model in out
        reports = list((tmp_path / "runs").glob("*/report.md"))
        assert len(reports) == 1 and "Consensus quality Q per inference model" in reports[0].read_text()
    finally:
        run("chain", "down", "--port", port)
