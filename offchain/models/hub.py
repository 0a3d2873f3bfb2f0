"""Hub models as local directories: the cached snapshot when there is one, else a download.

Every hub model (a catalog entry marked ``hub``, or ``hf:ORG/NAME``) is loaded from the directory
`snapshot` returns, with ``local_files_only``, so loading is the same code as for a local directory.
Offline, or with the hub unreachable, an uncached model fails at once with one line
(`HubModelUnavailable`) instead of the libraries' minute of retries.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from offchain.errors import ConfigError, named_line

PROBE_TIMEOUT_S = 10.0
ALWAYS = ("*.json", "*.txt", "*.model", "*.jinja", "*.tiktoken", "1_Pooling/*", "2_Normalize/*")
"""Configs, tokenizers, chat templates and sentence-transformers module folders."""
SKIP = ("onnx/*", "openvino/*", "original/*", "*.onnx", "*.h5", "*.msgpack", "*.ot", "*.gguf")
"""Other runtimes' copies of the same weights."""


class HubModelUnavailable(ConfigError):
    """A hub model that is not in the local cache while the hub cannot be reached (or is switched off)."""

    def __init__(self, name: str, hub_id: str, reason: str = "") -> None:
        self.name, self.hub_id, self.reason = name, hub_id, reason
        why = f" ({reason})" if reason else ""
        super().__init__(f"model {name} (hub id {hub_id}) is not in the local cache and the hub is unreachable"
                         f"{why}: run online once or pass a local directory")


class HubModelRefused(ConfigError):
    """The hub answered but will not serve the model: no such repository, or a gated one without a token."""

    def __init__(self, name: str, hub_id: str, reason: str) -> None:
        self.name, self.hub_id, self.reason = name, hub_id, reason
        super().__init__(f"model {name} (hub id {hub_id}) cannot be downloaded: {reason}")


def offline() -> bool:
    """True when the user switched the hub off (HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE)."""
    return any(os.environ.get(v, "").strip().lower() in ("1", "true", "yes", "on")
               for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def download_patterns(files: Sequence[str]) -> list[str]:
    """The files of a repository worth fetching: configs and tokenizers, and one copy of the weights
    (safetensors when the repository has them, else PyTorch ``.bin``)."""
    weights = "*.safetensors" if any(fnmatch.fnmatch(f, "*.safetensors") for f in files) else "*.bin"
    return [*ALWAYS, weights]


def cached(hub_id: str) -> Path | None:
    """The cached snapshot directory of ``hub_id``, or None (never touches the network)."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return Path(snapshot_download(hub_id, local_files_only=True))
    except (LocalEntryNotFoundError, FileNotFoundError):
        return None


def snapshot(hub_id: str, name: str | None = None, *, api: Any = None) -> Path:
    """A local directory holding ``hub_id``: the cached snapshot, else one downloaded now.

    HubModelUnavailable when it is not cached and the hub is off or unreachable; HubModelRefused when
    the hub has no such model or will not serve it (gated: set HF_TOKEN). ``api``: a
    ``huggingface_hub.HfApi`` (its endpoint), default the public hub.
    """
    label = name or hub_id
    local = cached(hub_id)
    if local is not None:
        return local
    if offline():
        raise HubModelUnavailable(label, hub_id, "HF_HUB_OFFLINE is set")
    from huggingface_hub import HfApi, snapshot_download
    from huggingface_hub.errors import GatedRepoError, HfHubHTTPError, RepositoryNotFoundError

    api = api or HfApi()
    try:
        info = api.model_info(hub_id, timeout=PROBE_TIMEOUT_S)
    except GatedRepoError:
        raise HubModelRefused(label, hub_id, "the repository is gated: accept its licence online and set HF_TOKEN") \
            from None
    except RepositoryNotFoundError:
        raise HubModelRefused(label, hub_id, "no such repository (or a private one: set HF_TOKEN)") from None
    except HfHubHTTPError as exc:
        raise HubModelRefused(label, hub_id, named_line(exc)) from None
    except Exception as exc:  # any transport failure (DNS, refused, timeout) means unreachable
        raise HubModelUnavailable(label, hub_id, named_line(exc)) from None
    files = [s.rfilename for s in info.siblings or []]
    try:
        return Path(snapshot_download(hub_id, allow_patterns=download_patterns(files), ignore_patterns=list(SKIP),
                                      endpoint=api.endpoint))
    except Exception as exc:  # a download cut off half-way: same advice
        raise HubModelUnavailable(label, hub_id, named_line(exc)) from None
