"""`poq agent run` and `poq fleet run` on bad input: one line naming what to fix, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from poq.cli import cli
from tests.conftest import free_port


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False, env=env)
    return result.exit_code, result.output


def one_line_error(out: str, *fragments: str) -> None:
    assert out.startswith("Error: "), out
    assert len(out.strip().splitlines()) == 1, out
    assert "Traceback" not in out
    for fragment in fragments:
        assert fragment in out, out


def test_unknown_model_name_suggests_the_closest() -> None:
    code, out = run("agent", "run", "--role", "inference", "--model", "smolm2", "--rpc-url", "http://127.0.0.1:1")
    assert code == 1
    one_line_error(out, "unknown generator 'smolm2'", "did you mean 'smollm2-135m'?")


def test_evaluator_name_given_to_an_inference_agent_is_refused() -> None:
    code, out = run("agent", "run", "--role", "inference", "--model", "minilm-l6", "--rpc-url", "http://127.0.0.1:1")
    assert code == 1
    one_line_error(out, "unknown generator 'minilm-l6'")


def test_wrong_rpc_url() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    code, out = run("agent", "run", "--role", "evaluator", "--model", "minilm-l6", "--rpc-url", url)
    assert code == 1
    one_line_error(out, f"cannot reach an Ethereum JSON-RPC node at {url}")


@pytest.mark.anvil
def test_missing_manifest(anvil_chain: str, tmp_path: Path) -> None:
    code, out = run("agent", "run", "--role", "evaluator", "--model", "minilm-l6", "--rpc-url", anvil_chain,
                    "--deployments", str(tmp_path / "nowhere"), "--state-dir", str(tmp_path / "state"))
    assert code == 1
    one_line_error(out, "no deployment manifest for chain 31337", "poq deploy")


@pytest.fixture
def deployed(anvil_chain: str, tmp_path: Path) -> tuple[str, str]:
    code, out = run("deploy", "--rpc-url", anvil_chain, "--deployments", str(tmp_path / "deployments"))
    assert code == 0, out
    return anvil_chain, str(tmp_path / "deployments")


@pytest.mark.anvil
def test_unfunded_key(deployed: tuple[str, str], tmp_path: Path) -> None:
    url, deployments = deployed
    key = "0x" + "42" * 32  # nobody funded this key; from the environment, so no process-list warning
    code, out = run("agent", "run", "--role", "evaluator", "--model", "minilm-l6", "--rpc-url", url,
                    "--deployments", deployments, "--state-dir", str(tmp_path / "state"), env={"POQ_PRIVATE_KEY": key})
    assert code == 1
    one_line_error(out, "holds 0.0000 ETH but needs about", "fund it first")


@pytest.mark.anvil
def test_malformed_dataset_line_names_the_line(deployed: tuple[str, str], tmp_path: Path) -> None:
    url, deployments = deployed
    data = tmp_path / "tasks.jsonl"
    good = '{"id": "a", "article": "Some text.", "highlights": "Text."}'
    data.write_text(good + "\n" + '{"id": "b", "article": ' + "\n")
    code, out = run("agent", "run", "--role", "requester", "--key-index", "1", "--dataset", str(data),
                    "--rpc-url", url, "--deployments", deployments, "--state-dir", str(tmp_path / "state"))
    assert code == 1
    one_line_error(out, f"{data}:2:")


def test_fleet_config_errors_are_one_line(tmp_path: Path) -> None:
    config = tmp_path / "fleet.toml"
    config.write_text('[[inference]]\nmodel = "smollm2-135m"\ncount = 0\n')
    code, out = run("fleet", "run", "--config", str(config))
    assert code == 1
    one_line_error(out, "inference.0.count")
