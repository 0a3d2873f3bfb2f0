"""One-line errors at the network edges: an uncached hub model offline or unreachable, an endpoint that is
down or never answers. The failures are real (closed ports, a socket that never replies), not mocks;
the last test feeds the message helpers plain values."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from offchain.models.endpoint import EndpointClient, EndpointTimeout, EndpointUnreachable
from offchain.models.hub import HubModelUnavailable, download_patterns, snapshot
from poq.cli import cli
from tests.conftest import free_port

NEVER_CACHED = "poq-tests/never-cached-model"


def test_download_patterns_take_one_copy_of_the_weights() -> None:
    assert "*.safetensors" in download_patterns(["config.json", "model.safetensors", "pytorch_model.bin"])
    assert "*.bin" not in download_patterns(["model.safetensors", "pytorch_model.bin"])
    assert "*.bin" in download_patterns(["config.json", "pytorch_model.bin"])


def test_uncached_hub_model_offline_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(HubModelUnavailable) as err:
        snapshot(NEVER_CACHED, "tiny")
    assert str(err.value) == (f"model tiny (hub id {NEVER_CACHED}) is not in the local cache and the hub is "
                              "unreachable (HF_HUB_OFFLINE is set): run online once or pass a local directory")


def test_uncached_hub_model_with_the_hub_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import HfApi

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    closed = HfApi(endpoint=f"http://127.0.0.1:{free_port()}")  # nothing listens there
    with pytest.raises(HubModelUnavailable, match="is not in the local cache and the hub is unreachable"):
        snapshot(NEVER_CACHED, api=closed)


def test_poq_models_try_an_uncached_hub_model_offline_prints_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    result = CliRunner().invoke(cli, ["models", "try", f"hf:{NEVER_CACHED}", "hello"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: model hf:{NEVER_CACHED} (hub id {NEVER_CACHED}) is not in the local cache and the hub is "
        "unreachable (HF_HUB_OFFLINE is set): run online once or pass a local directory"]


def test_an_endpoint_that_is_down_is_named_after_the_retries() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    client = EndpointClient(url, retries=1, timeout_s=5)
    with pytest.raises(EndpointUnreachable, match=rf"cannot reach the OpenAI-compatible endpoint at {url} after 2 "
                                                  r"attempts .*start the server or fix the URL"):
        client.chat("m", "hi", max_tokens=4)


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A TCP server that accepts connections and never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1"


def test_an_endpoint_that_never_answers_times_out_with_a_named_error(silent_server: str) -> None:
    client = EndpointClient(silent_server, retries=0, timeout_s=0.5)
    with pytest.raises(EndpointTimeout, match=rf"the endpoint at {silent_server} did not answer within 0.5 s in 1 "
                                              "attempts"):
        client.chat("m", "hi", max_tokens=4)


def test_an_endpoint_error_without_a_message_is_named_not_an_index_error() -> None:
    """A server's refusal with an empty message, or a connection error with no text, still gives a
    line: the endpoint's helpers used to take `splitlines()[0]`, an IndexError on an empty message."""
    from types import SimpleNamespace

    from offchain.errors import named_line
    from offchain.models.endpoint import _detail

    assert _detail(SimpleNamespace(body=None, message="")) == ""
    assert _detail(SimpleNamespace(body={"error": {"message": "model not loaded\n  at ..."}})) == "model not loaded"
    assert named_line(ConnectionRefusedError()) == "ConnectionRefusedError"
    assert named_line(OSError("\n  [Errno 111] refused\nmore")) == "OSError: [Errno 111] refused"
