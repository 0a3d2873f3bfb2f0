"""Keys as an operator expects them: `poq account new | import | list`, `--keystore FILE` on the
signing commands, warnings for keys chosen by default or shown in `ps`, dev keys only on dev chains,
and every key failure as one line."""

from __future__ import annotations

import json
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from eth_account import Account

from offchain.chain.keystore import decrypt_keystore, write_keystore
from offchain.errors import ConfigError
from poq.cli import cli
from poq.cli.options import KeyChoice, check_signing_chain

PASSWORD = "correct horse battery staple"
KEY = "0x" + "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
KEY_ADDRESS = Account.from_key(KEY).address
UNREACHABLE = "http://127.0.0.1:1"  # key errors come before any connection


def run(*args: str, env: dict[str, str | None] | None = None, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, input=input,
                              env={"POQ_PRIVATE_KEY": None, **(env or {})})


def one_line_error(result: Result, *fragments: str) -> str:
    assert result.exit_code == 1, result.output
    out = result.output
    assert out.startswith("Error: "), out
    assert len(out.strip().splitlines()) == 1, out
    assert "Traceback" not in out
    for fragment in fragments:
        assert fragment in out, out
    return out


def password_file(tmp_path: Path, password: str = PASSWORD) -> Path:
    path = tmp_path / "password.txt"
    path.write_text(password + "\n")
    return path


def fast_keystore(directory: Path, key: str = KEY, password: str = PASSWORD) -> Path:
    """A keystore with a cheap KDF (pbkdf2, 2 rounds): for tests only; `poq account` uses scrypt."""
    return write_keystore(directory, Account.from_key(key), password, kdf="pbkdf2", iterations=2)


@pytest.fixture
def tty(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend a person is at the terminal, so prompts read CliRunner's input."""
    monkeypatch.setattr("poq.cli.options.stdin_is_tty", lambda: True)


# --- poq account --------------------------------------------------------------------------------


def test_new_then_list_shows_it_and_it_decrypts_to_the_same_address(tmp_path: Path) -> None:
    keystores = tmp_path / "keys"
    result = run("account", "new", "--keystore-dir", str(keystores), "--password-file", str(password_file(tmp_path)))
    assert result.exit_code == 0, result.output
    address = re.search(r"^address\s+(0x[0-9a-fA-F]{40})$", result.stdout, re.M)
    path = re.search(r"^keystore\s+(\S+)$", result.stdout, re.M)
    assert address and path, result.stdout
    keystore = Path(path.group(1))
    assert keystore.parent == keystores
    assert re.fullmatch(r"UTC--\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{9}Z--" + address.group(1)[2:].lower(), keystore.name)
    assert stat.S_IMODE(keystore.stat().st_mode) == 0o600
    data = json.loads(keystore.read_text())
    assert data["version"] == 3 and data["crypto"]["kdf"] == "scrypt"  # the library's default, not a test's

    listed = run("account", "list", "--keystore-dir", str(keystores))
    assert listed.exit_code == 0
    assert listed.stdout.split() == [address.group(1), str(keystore)]
    assert decrypt_keystore(keystore, PASSWORD).address == address.group(1)


def test_new_asks_for_the_password_twice_on_a_terminal(tmp_path: Path, tty: None) -> None:
    keystores = tmp_path / "keys"
    result = run("account", "new", "--keystore-dir", str(keystores), input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output  # hidden
    [keystore] = keystores.iterdir()
    assert decrypt_keystore(keystore, PASSWORD).address in result.stdout


def test_new_without_a_terminal_or_password_file_is_one_line(tmp_path: Path) -> None:
    one_line_error(run("account", "new", "--keystore-dir", str(tmp_path)), "no terminal", "--password-file FILE")
    assert list(tmp_path.iterdir()) == []


def test_new_refuses_an_empty_password(tmp_path: Path) -> None:
    one_line_error(run("account", "new", "--keystore-dir", str(tmp_path / "keys"),
                       "--password-file", str(password_file(tmp_path, ""))), "empty password")
    assert not (tmp_path / "keys").exists()


def test_import_from_a_key_file(tmp_path: Path) -> None:
    key_file = tmp_path / "key.hex"
    key_file.write_text(KEY.removeprefix("0x") + "\n")  # cast and geth write it without 0x
    keystores = tmp_path / "keys"
    args = ("account", "import", "--keystore-dir", str(keystores), "--private-key-file", str(key_file),
            "--password-file", str(password_file(tmp_path)))
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert f"address  {KEY_ADDRESS}" in result.stdout
    assert KEY.removeprefix("0x") not in result.output
    [keystore] = keystores.iterdir()
    assert decrypt_keystore(keystore, PASSWORD).key.hex().removeprefix("0x") == KEY.removeprefix("0x")

    one_line_error(run(*args), "already holds a keystore for " + KEY_ADDRESS)  # a second import
    assert len(list(keystores.iterdir())) == 1


def test_import_from_the_hidden_prompt(tmp_path: Path, tty: None) -> None:
    result = run("account", "import", "--keystore-dir", str(tmp_path / "keys"),
                 input=f"{KEY}\n{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert KEY_ADDRESS in result.stdout and KEY.removeprefix("0x") not in result.output


def test_import_without_a_terminal_is_one_line(tmp_path: Path) -> None:
    one_line_error(run("account", "import", "--keystore-dir", str(tmp_path)), "no terminal", "--private-key-file FILE")


@pytest.mark.parametrize("content", ["0x1234", "zz" * 32, "0x" + "00" * 32, KEY + "00"])
def test_import_of_a_malformed_key_is_one_line_and_never_echoes_it(tmp_path: Path, content: str) -> None:
    key_file = tmp_path / "key.hex"
    key_file.write_text(content)
    out = one_line_error(run("account", "import", "--keystore-dir", str(tmp_path / "keys"), "--private-key-file",
                             str(key_file), "--password-file", str(password_file(tmp_path))),
                         f"private key file {key_file} is not")
    assert content.removeprefix("0x") not in out


def test_import_of_a_missing_key_file_is_one_line(tmp_path: Path) -> None:
    one_line_error(run("account", "import", "--keystore-dir", str(tmp_path), "--private-key-file",
                       str(tmp_path / "nope")), f"no private key file at {tmp_path / 'nope'}")


def test_list_skips_other_files_and_says_when_there_are_none(tmp_path: Path) -> None:
    result = run("account", "list", "--keystore-dir", str(tmp_path / "missing"))
    assert result.exit_code == 0 and "no keystores in" in result.stdout and "poq account new" in result.stdout
    keystores = tmp_path / "keys"
    keystore = fast_keystore(keystores)
    (keystores / "notes.txt").write_text("not a keystore")
    result = run("account", "list", "--keystore-dir", str(keystores), "--json")
    assert json.loads(result.stdout) == [{"address": KEY_ADDRESS, "path": str(keystore)}]


# --- --keystore and the other key options on a signing command ---------------------------------


def test_wrong_password_is_one_line(tmp_path: Path) -> None:
    keystore = fast_keystore(tmp_path / "keys")
    one_line_error(run("withdraw", "--rpc-url", UNREACHABLE, "--keystore", str(keystore), "--password-file",
                       str(password_file(tmp_path, "not it"))), f"wrong password for keystore {keystore}")


def test_keystore_password_from_the_prompt(tmp_path: Path, tty: None) -> None:
    """The right password typed at the prompt unlocks the key: the command gets as far as the node."""
    keystore = fast_keystore(tmp_path / "keys")
    result = run("withdraw", "--rpc-url", UNREACHABLE, "--keystore", str(keystore), input=PASSWORD + "\n")
    assert "cannot reach an Ethereum JSON-RPC node" in result.output, result.output
    assert "wrong password" not in result.output and PASSWORD not in result.output  # unlocked; typed unseen
    result = run("withdraw", "--rpc-url", UNREACHABLE, "--keystore", str(keystore), input="wrong\n")
    assert f"wrong password for keystore {keystore}" in result.output


def test_keystore_without_a_terminal_or_password_file_is_one_line(tmp_path: Path) -> None:
    keystore = fast_keystore(tmp_path / "keys")
    one_line_error(run("withdraw", "--rpc-url", UNREACHABLE, "--keystore", str(keystore)),
                   f"no terminal to ask for the password for keystore {keystore}", "--password-file FILE")


def test_missing_keystore_and_password_files_are_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    one_line_error(run("deploy", "--rpc-url", UNREACHABLE, "--keystore", str(missing)),
                   f"no keystore file at {missing}", "poq account new")
    keystore = fast_keystore(tmp_path / "keys")
    one_line_error(run("deploy", "--rpc-url", UNREACHABLE, "--keystore", str(keystore), "--password-file",
                       str(missing)), f"no password file at {missing}")
    one_line_error(run("deploy", "--rpc-url", UNREACHABLE, "--keystore", str(tmp_path)), "is a directory")


@pytest.mark.parametrize("content, reason", [
    ("hello", "not JSON"),
    ("[1, 2]", "not a JSON object"),
    ('{"version": 4}', "version 4, expected 3"),
    ('{"version": 3, "crypto": {"kdf": "scrypt"}}', "crypto section lacks cipher"),
])
def test_a_file_that_is_not_a_keystore_is_one_line(tmp_path: Path, content: str, reason: str) -> None:
    path = tmp_path / "key.json"
    path.write_text(content)
    one_line_error(run("withdraw", "--rpc-url", UNREACHABLE, "--keystore", str(path), "--password-file",
                       str(password_file(tmp_path))), f"{path} is not a keystore", reason)


def test_malformed_private_key_is_one_line_and_never_echoed() -> None:
    bad = "0x" + "12" * 31
    out = one_line_error(run("withdraw", "--rpc-url", UNREACHABLE, env={"POQ_PRIVATE_KEY": bad}),
                         "POQ_PRIVATE_KEY is not a private key", "64 hex digits")
    assert bad[2:] not in out


def test_private_key_on_the_command_line_warns_and_from_the_environment_does_not() -> None:
    result = run("withdraw", "--rpc-url", UNREACHABLE, "--private-key", KEY)
    warning = [line for line in result.stderr.splitlines() if line.startswith("Warning:")]
    assert len(warning) == 1 and "process list" in warning[0]
    assert "--keystore" in warning[0] and "POQ_PRIVATE_KEY" in warning[0]
    assert KEY[2:] not in result.stderr
    result = run("withdraw", "--rpc-url", UNREACHABLE, env={"POQ_PRIVATE_KEY": KEY})
    one_line_error(result, "cannot reach an Ethereum JSON-RPC node")  # no warning before it


def test_two_keys_or_a_stray_password_file_are_one_line(tmp_path: Path) -> None:
    keystore = fast_keystore(tmp_path / "keys")
    one_line_error(run("withdraw", "--rpc-url", UNREACHABLE, "--keystore", str(keystore), "--dev-key", "1"),
                   "--keystore and --dev-key both name a key")
    one_line_error(run("withdraw", "--rpc-url", UNREACHABLE, "--key-index", "1", "--private-key", KEY),
                   "--dev-key and --private-key both name a key")
    one_line_error(run("withdraw", "--rpc-url", UNREACHABLE, "--password-file", str(password_file(tmp_path))),
                   "--password-file unlocks a keystore")


def test_help_documents_the_key_options_and_the_environment_variable() -> None:
    out = run("withdraw", "--help").output
    for option in ("--keystore FILE", "--password-file FILE", "--private-key HEX", "POQ_PRIVATE_KEY",
                   "--dev-key, --key-index N"):
        assert option in out, out


# --- dev keys on dev chains only ----------------------------------------------------------------


@pytest.mark.parametrize("key", [KeyChoice(), KeyChoice(dev_key=0), KeyChoice(dev_key=7),
                                 KeyChoice(dev_key=2, private_key=KEY)])  # the command line beats the env
def test_unit_dev_key_is_refused_on_a_chain_that_is_not_a_dev_chain(key: KeyChoice) -> None:
    """Unit-level: the shared check every signing command calls once connected, with fake chain ids."""
    for chain_id in (1, 11155111, 31338):
        with pytest.raises(ConfigError, match=rf"dev key {key.dev_index} .*not chain {chain_id}: use --keystore FILE"):
            check_signing_chain(key, chain_id)
    for chain_id in (31337, 1337):
        check_signing_chain(key, chain_id)


@pytest.mark.parametrize("key", [KeyChoice(keystore=Path("k.json")), KeyChoice(private_key=KEY),
                                 KeyChoice(private_key=KEY, private_key_on_command_line=True)])
def test_unit_other_keys_sign_on_any_chain(key: KeyChoice, capsys: pytest.CaptureFixture[str]) -> None:
    check_signing_chain(key, 1)
    assert capsys.readouterr().err == ""


def test_unit_default_dev_key_warns_once_on_a_dev_chain(capsys: pytest.CaptureFixture[str]) -> None:
    check_signing_chain(KeyChoice(), 31337)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "signing with dev key 0" in err[0]
    assert "--keystore FILE" in err[0] and "--dev-key 0" in err[0]
    check_signing_chain(KeyChoice(dev_key=0), 31337)  # explicit: no warning
    assert capsys.readouterr().err == ""


@pytest.fixture
def sepolia_like_chain(tmp_path: Path) -> Iterator[str]:
    """An anvil that says it is chain 11155111 (Sepolia's id)."""
    from deploy.localchain import chain_down, chain_up, find_anvil
    from tests.conftest import free_port

    try:
        find_anvil()
    except ConfigError as exc:
        pytest.skip(str(exc))
    port, state_dir = free_port(), tmp_path / "anvil"
    status = chain_up(port, state_dir=state_dir, chain_id=11155111)
    try:
        yield status.rpc_url
    finally:
        chain_down(port, state_dir)


@pytest.mark.anvil
def test_dev_key_is_refused_on_a_real_chain_id(sepolia_like_chain: str, tmp_path: Path) -> None:
    deployments = str(tmp_path / "deployments")
    one_line_error(run("deploy", "--rpc-url", sepolia_like_chain, "--deployments", deployments),
                   "dev key 0", "not chain 11155111", "use --keystore FILE")
    one_line_error(run("deploy", "--rpc-url", sepolia_like_chain, "--deployments", deployments, "--key-index", "3"),
                   "dev key 3", "not chain 11155111")
    assert not Path(deployments).exists()  # nothing deployed

    # a keystore signs there; then withdraw and an agent, given dev keys, are refused before signing
    from offchain.chain.accounts import fund_accounts
    from offchain.chain.connect import connect

    fund_accounts(connect(sepolia_like_chain), [KEY_ADDRESS], 10**19)
    keystore = fast_keystore(tmp_path / "keys")
    result = run("deploy", "--rpc-url", sepolia_like_chain, "--deployments", deployments, "--keystore", str(keystore),
                 "--password-file", str(password_file(tmp_path)))
    assert result.exit_code == 0 and "chain 11155111" in result.stdout, result.output
    one_line_error(run("withdraw", "--rpc-url", sepolia_like_chain, "--deployments", deployments, "--dev-key", "1"),
                   "dev key 1", "not chain 11155111")
    state = tmp_path / "state"
    one_line_error(run("agent", "run", "--role", "evaluator", "--model", "minilm-l6", "--rpc-url", sepolia_like_chain,
                       "--deployments", deployments, "--state-dir", str(state)), "dev key 0", "not chain 11155111")
    assert not state.exists()  # refused before the agent took a lock or a state file


@pytest.mark.anvil
def test_deploy_and_withdraw_sign_as_the_keystore_address(anvil_chain: str, tmp_path: Path) -> None:
    from offchain.chain.accounts import fund_accounts
    from offchain.chain.connect import connect

    keystore = fast_keystore(tmp_path / "keys")
    w3 = connect(anvil_chain)
    fund_accounts(w3, [KEY_ADDRESS], 10**19)
    deployments = tmp_path / "deployments"
    key_args = ("--keystore", str(keystore), "--password-file", str(password_file(tmp_path)))
    result = run("deploy", "--rpc-url", anvil_chain, "--deployments", str(deployments), *key_args, "--json")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""  # no default-key warning
    manifest = json.loads(result.stdout)
    assert manifest["deployer"] == KEY_ADDRESS
    assert w3.eth.get_transaction(manifest["tx_hash"])["from"] == KEY_ADDRESS

    result = run("withdraw", "--rpc-url", anvil_chain, "--deployments", str(deployments), *key_args)
    assert result.exit_code == 0 and result.stdout.strip() == f"{KEY_ADDRESS} has nothing to withdraw"

    result = run("withdraw", "--rpc-url", anvil_chain, "--deployments", str(deployments))  # no key option
    assert result.exit_code == 0
    assert "Warning: no key given: signing with dev key 0" in result.stderr
    assert "--dev-key 0" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    result = run("withdraw", "--rpc-url", anvil_chain, "--deployments", str(deployments), "--dev-key", "0")
    assert result.exit_code == 0 and result.stderr == ""
