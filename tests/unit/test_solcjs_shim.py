"""The solc-js shim behaves like native solc for the two calls py-solc-x makes."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from packaging.version import Version
from solcx.wrapper import get_solc_version

from deploy.compiler import SHIM, shim_wrapper

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")

REPO = Path(__file__).resolve().parents[2]


def _shim(*args: str, stdin: str = "", cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["node", str(SHIM), *args], input=stdin, capture_output=True,
                          text=True, cwd=cwd, check=False)


def test_version_is_parsed_by_py_solc_x(tmp_path: Path) -> None:
    wrapper = shim_wrapper(tmp_path)
    assert Version(str(get_solc_version(wrapper))) >= Version("0.8.24")
    assert "+commit." in str(get_solc_version(wrapper, with_commit_hash=True))


def test_version_output_has_native_solc_shape() -> None:
    out = _shim("--version")
    assert out.returncode == 0
    lines = out.stdout.splitlines()
    assert lines[0] == "solc, the solidity compiler commandline interface"
    assert lines[1].startswith("Version: 0.8.")


def test_standard_json_prints_only_json_and_resolves_imports_from_base_path() -> None:
    # The import is not among the sources, so the shim's resolver must read it from disk.
    source = 'import "tests/fixtures/contracts/lib/Types.sol"; contract A is ITypes {}'
    request = {"language": "Solidity", "sources": {"A.sol": {"content": source}},
               "settings": {"outputSelection": {"*": {"*": ["abi"]}}}}
    out = _shim("--standard-json", "--base-path", str(REPO), "--allow-paths",
                str(REPO / "tests"), "--overwrite", stdin=json.dumps(request), cwd=Path("/"))
    assert out.returncode == 0, out.stderr
    output = json.loads(out.stdout)  # fails if anything but JSON was printed
    assert "A" in output["contracts"]["A.sol"]
    assert "tests/fixtures/contracts/lib/Types.sol" in output["contracts"]


def test_import_outside_allowed_paths_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "Secret.sol"
    secret.write_text("contract Secret {}")
    request = {"language": "Solidity",
               "sources": {"A.sol": {"content": f'import "{secret}"; contract A {{}}'}},
               "settings": {"outputSelection": {"*": {"*": ["abi"]}}}}
    out = _shim("--standard-json", "--base-path", str(REPO), stdin=json.dumps(request))
    errors = [e for e in json.loads(out.stdout)["errors"] if e["severity"] == "error"]
    assert errors and "Secret.sol" in errors[0]["formattedMessage"]


def test_unknown_mode_fails_with_a_message() -> None:
    out = _shim("--bin")
    assert out.returncode != 0
    assert "--standard-json" in out.stderr
