"""`poq models list` and `poq models try` on bad input (no model is loaded)."""

from __future__ import annotations

from click.testing import CliRunner

from poq.cli import cli


def test_models_list_shows_the_papers_pool_with_hub_ids() -> None:
    result = CliRunner().invoke(cli, ["models", "list"])
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line.split() for line in result.output.splitlines()[1:]}
    assert rows["tinyllama-1.1b"][1:4] == ["generator", "paper", "hub"]
    assert rows["tinyllama-1.1b"][-1] == "TinyLlama/TinyLlama-1.1B-Chat-v1.0"
    assert rows["ce-deberta"][-1] == "cross-encoder/nli-deberta-v3-small"
    assert rows["sts-distilroberta"][1:3] == ["bi-encoder", "paper"]
    assert rows["smollm2-135m"][2] == "packaged"


def test_models_try_a_malformed_endpoint_or_missing_path_is_one_line() -> None:
    for args, message in ((["openai:model-without-url", "hi"], "malformed endpoint model 'openai:model-without-url'"),
                          (["./no/such/model", "hi"], "model path ./no/such/model does not exist")):
        result = CliRunner().invoke(cli, ["models", "try", *args])
        assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1, result.output
        assert result.output.startswith("Error: ") and message in result.output
