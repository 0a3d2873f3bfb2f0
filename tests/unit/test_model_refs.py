"""What --model may name: catalog names, hf:ORG/NAME, local directories and .gguf files, openai:, replay:.

Parsing and kind inference read only small files written here; no model is loaded.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from offchain.errors import ConfigError, UnknownNameError
from offchain.models import check_model, parse_ref, spec_for
from simulation.pipeline.config import model_names


def test_catalog_names_resolve_to_their_family() -> None:
    assert parse_ref("smollm2-135m", "generator").kind == "generator"
    assert parse_ref("ce-deberta").kind == "cross-encoder"
    assert spec_for("tinyllama-1.1b").hub_id == "TinyLlama/TinyLlama-1.1B-Chat-v1.0"


def test_unknown_and_wrong_family_names_fail_with_a_hint() -> None:
    with pytest.raises(UnknownNameError, match="unknown generator 'smolm2'; did you mean 'smollm2-135m'"):
        check_model("smolm2", "inference")
    with pytest.raises(ConfigError, match="unknown generator 'minilm-l6': it is an evaluator"):
        check_model("minilm-l6", "inference")
    with pytest.raises(ConfigError, match="needs --model NAME"):
        check_model(None, "evaluator")


def test_openai_endpoint_spec_is_parsed() -> None:
    ref = check_model("openai:meta-llama/Llama-3.2-3B-Instruct@http://gpu-box:8000/v1/", "inference")
    assert (ref.scheme, ref.target, ref.url, ref.kind) == (
        "openai", "meta-llama/Llama-3.2-3B-Instruct", "http://gpu-box:8000/v1", "generator")


@pytest.mark.parametrize("bad", ["openai:model", "openai:@http://h/v1", "openai:m@ftp://h/v1", "openai:m@"])
def test_malformed_openai_spec_names_the_form(bad: str) -> None:
    with pytest.raises(ConfigError, match=r"malformed endpoint model .*openai:MODEL@http://HOST:PORT/v1"):
        parse_ref(bad)


def test_an_endpoint_cannot_be_an_evaluator() -> None:
    with pytest.raises(ConfigError, match="is a generator, not an evaluator"):
        check_model("openai:m@http://127.0.0.1:8000/v1", "evaluator")


def test_hub_references_and_their_kind_suffix() -> None:
    ref = parse_ref("hf:cross-encoder/nli-deberta-v3-small#cross-encoder")
    assert (ref.scheme, ref.target, ref.kind) == ("hf", "cross-encoder/nli-deberta-v3-small", "cross-encoder")
    assert spec_for("hf:Qwen/Qwen2-1.5B-Instruct", "generator").hub_id == "Qwen/Qwen2-1.5B-Instruct"
    with pytest.raises(ConfigError, match="malformed hub model 'hf:no-slash'"):
        parse_ref("hf:no-slash")


def _model_dir(path: Path, files: dict[str, object]) -> Path:
    path.mkdir(parents=True)
    for name, content in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(json.dumps(content))
    return path


def test_kind_is_read_from_a_local_directorys_files(tmp_path: Path) -> None:
    causal = _model_dir(tmp_path / "llm", {"config.json": {"architectures": ["LlamaForCausalLM"]}})
    bi = _model_dir(tmp_path / "st", {"config.json": {"architectures": ["BertModel"]}, "modules.json": []})
    ce = _model_dir(tmp_path / "ce", {"config.json": {"architectures": ["DebertaV2ForSequenceClassification"]}})
    bare = _model_dir(tmp_path / "bare", {"config.json": {"architectures": ["BertModel"]}})
    assert spec_for(str(causal)).kind == "generator"
    assert spec_for(str(bi)).kind == "bi-encoder"
    assert spec_for(str(ce), "evaluator").kind == "cross-encoder"
    with pytest.raises(ConfigError, match="append #generator, #bi-encoder or #cross-encoder"):
        spec_for(str(bare))
    assert spec_for(f"{bare}#bi-encoder").kind == "bi-encoder"
    with pytest.raises(ConfigError, match="is a generator, not an evaluator"):
        check_model(f"{causal}#generator", "evaluator")


def test_local_gguf_files_and_missing_paths(tmp_path: Path) -> None:
    gguf = tmp_path / "tiny.gguf"
    gguf.write_bytes(b"GGUF")
    assert check_model(str(gguf), "inference").kind == "generator"
    (tmp_path / "weights.bin").write_bytes(b"x")
    with pytest.raises(ConfigError, match="is a file but not a .gguf"):
        parse_ref(str(tmp_path / "weights.bin"))
    with pytest.raises(ConfigError, match="model path .*missing does not exist"):
        check_model(str(tmp_path / "missing"), "evaluator")


def test_replay_references_keep_their_own_syntax(tmp_path: Path) -> None:
    ref = check_model(f"replay:{tmp_path}/log.jsonl#smollm2-135m", "inference")
    assert (ref.scheme, ref.member) == ("replay", "smollm2-135m")
    with pytest.raises(ConfigError, match="replay:PATH#NAME"):
        check_model("replay:nothing", "evaluator")


def test_pipeline_expands_pools_and_keeps_references() -> None:
    assert model_names(("paper",), "generator") == ["tinyllama-1.1b", "qwen2-1.5b", "gemma2-2b", "phi3-mini",
                                                    "llama3.2-3b"]
    assert model_names(("paper", "ce-deberta"), "evaluator") == ["ce-minilm-l6", "ce-deberta", "sts-distilroberta"]
    assert model_names(("smollm2-135m", "openai:m@http://h:1/v1"), "generator")[1] == "openai:m@http://h:1/v1"
    with pytest.raises(ConfigError, match="it is an evaluator"):
        model_names(("paper", "minilm-l6"), "generator")
