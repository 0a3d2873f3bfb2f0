"""Real models from packaged weights: SmolLM2 (GGUF converted once), minilm-l6, ce-minilm-l12.

Skipped, with the reason, when a weight package is not installed (scripts/install-models.sh).
The first run converts SmolLM2's GGUF into the poq cache (~40 s); later runs load it in seconds.
"""

from pathlib import Path

import pytest

from offchain.metrics import token_f1
from offchain.models import packages

pytestmark = pytest.mark.models

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
SQUAD = DATA / "squad_v1.1_dev.jsonl"


def need(model: str) -> None:
    pytest.importorskip("transformers", reason="model extras not installed (pip install -e .[models])")
    if not packages.is_installed(model):
        pytest.skip(f"weights of {model} not installed: run scripts/install-models.sh {model}")


@pytest.fixture(scope="module")
def squad_records():
    if not SQUAD.exists():
        pytest.skip(f"no SQuAD sample at {SQUAD}")
    from offchain.data import load_records

    return load_records(SQUAD, limit=2)


def test_smollm2_answers_a_squad_question(squad_records):
    need("smollm2-135m")
    from offchain.models import load_generator
    from offchain.models.generators import DecodingConfig

    gen = load_generator("smollm2-135m", decoding=DecodingConfig(max_new_tokens=32),
                         progress=False)
    assert gen.has_chat_template
    record = squad_records[0]
    [out] = gen.generate_records([record])
    assert out.text and out.new_tokens >= 1 and out.prompt_tokens > 100
    assert out.latency_s > 0
    # SmolLM2 names one of the two teams in the passage (greedy decoding is deterministic).
    assert "Broncos" in out.text or "Panthers" in out.text
    assert 0.0 <= token_f1(out.text, record.references) <= 1.0
    # batched generation keeps the input order and the same greedy answer for the same prompt
    batch = gen.generate_records([squad_records[1], record])
    assert batch[1].text == out.text and batch[1].batch_size == 2


@pytest.mark.parametrize("name", ["minilm-l6", "ce-minilm-l12"])
def test_evaluator_prefers_the_correct_answer(name):
    need(name)
    from offchain.models import load_evaluator

    ev = load_evaluator(name, progress=False)
    question = "Which NFL team represented the AFC at Super Bowl 50?"
    reference = "Denver Broncos"
    query = question if ev.kind == "cross-encoder" else reference
    raw = ev.score([(query, "The Denver Broncos represented the AFC."),
                    (query, "Apple pie is baked with butter and cinnamon.")])
    assert raw[0] > raw[1]
    scaled = ev.calibrated_scores(raw)
    assert all(0.0 <= s <= 10.0 for s in scaled) and scaled[0] > scaled[1]


def test_composite_ranks_answers_to_a_chain_task_with_real_parts(squad_records):
    need("minilm-l6")
    need("ce-minilm-l12")
    from offchain.data import qa_input
    from offchain.models import load_evaluator

    composite = load_evaluator("composite", progress=False)
    record = squad_records[0]
    task = {"kind": 0, "input": qa_input(record.context or "", record.question or ""), "reference": record.reference}
    good, wrong, off = composite.score_texts([{**task, "output": record.reference},
                                              {**task, "output": "the Carolina Panthers"},
                                              {**task, "output": "Apple pie is baked with butter and cinnamon."}])
    assert 0.0 <= off < wrong < good <= 10.0


def test_onnx_bi_encoder_matches_sentence_transformers():
    need("minilm-l6")
    from offchain.models import load_evaluator

    pairs = [("Denver Broncos", "The Denver Broncos represented the AFC."), ("Paris", "It is in Paris, France."),
             ("Santa Clara, California", "Apple pie is baked with butter and cinnamon. " * 20)]
    fast = load_evaluator("minilm-l6", backend="onnx", progress=False)
    reference = load_evaluator("minilm-l6", backend="torch", progress=False)
    assert type(fast.model).__name__ == "OnnxSentenceEncoder"
    assert max(abs(a - b) for a, b in zip(fast.score(pairs), reference.score(pairs), strict=True)) < 1e-5


def test_models_try_takes_a_local_directory():
    need("minilm-l6")
    from click.testing import CliRunner

    from poq.cli import cli

    model_dir = str(packages.part_paths("minilm-l6")[0])
    result = CliRunner().invoke(cli, ["models", "try", model_dir, "The Denver Broncos won.", "-r", "Denver Broncos"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"{model_dir} (bi-encoder): raw 0.") and "calibrated" in result.output


def test_a_converted_generator_directory_loads_like_a_catalog_model(squad_records):
    need("smollm2-135m")
    from offchain.models import get_spec, load_generator
    from offchain.models.generators import DecodingConfig
    from offchain.models.sources import materialize, resolve

    model_dir = materialize(resolve(get_spec("smollm2-135m")), progress=False)
    gen = load_generator(model_dir, decoding=DecodingConfig(max_new_tokens=16), device="cpu", progress=False)
    [out] = gen.generate_records(squad_records[:1])
    assert gen.has_chat_template and gen.device.name == "cpu" and out.text and out.new_tokens >= 1
