"""One error tree for poq. Every user-facing failure is a PoQError whose message says what to fix.

The CLI turns any PoQError into a one-line message (no traceback). Contract reverts are decoded
into ContractRevert subclasses at the chain boundary (offchain.chain.reverts).
"""

from __future__ import annotations


class PoQError(Exception):
    """Root of every error poq raises on purpose."""


class ConfigError(PoQError):
    """Bad user input or configuration: a flag, a parameter, a file."""


class ManifestNotFound(ConfigError):
    def __init__(self, path: str, chain_id: int | None = None) -> None:
        self.path = path
        self.chain_id = chain_id
        where = f" for chain {chain_id}" if chain_id is not None else ""
        super().__init__(f"no deployment manifest{where} at {path}: run `poq deploy` first")


class CompilationError(ConfigError):
    """The Solidity compiler rejected the sources; the message is the first error, on one line."""

    def __init__(self, message: str, errors: list[dict[str, object]] | None = None) -> None:
        self.errors = list(errors or [])
        super().__init__(message)


def closest(name: str, known: list[str]) -> str | None:
    """The known name closest to `name`: a case-insensitive match first, then difflib's best."""
    import difflib

    folded = {k.lower(): k for k in known}
    if name.lower() in folded:
        return folded[name.lower()]
    close = difflib.get_close_matches(name.lower(), list(folded), n=1)
    return folded[close[0]] if close else None


class UnknownNameError(ConfigError):
    """A name looked up in a registry (model, evaluator, aggregator) that does not exist."""

    def __init__(self, kind: str, name: str, known: list[str]) -> None:
        self.kind, self.name, self.known = kind, name, known
        close = closest(name, known)
        hint = f"; did you mean {close!r}?" if close else f"; known: {', '.join(sorted(known))}"
        super().__init__(f"unknown {kind} {name!r}{hint}")


class DuplicateNameError(ConfigError):
    def __init__(self, kind: str, name: str) -> None:
        self.kind, self.name = kind, name
        super().__init__(f"{kind} {name!r} is already registered")


class DatasetError(ConfigError):
    """A malformed dataset record; names the file and line."""

    def __init__(self, path: str, line: int | None, reason: str) -> None:
        self.path, self.line, self.reason = path, line, reason
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {reason}")


class ChainError(PoQError):
    """Talking to the chain failed (connection, transaction, receipt)."""


class RpcUnavailable(ChainError):
    def __init__(self, url: str, reason: str = "") -> None:
        self.url = url
        extra = f" ({reason})" if reason else ""
        super().__init__(
            f"cannot reach an Ethereum JSON-RPC node at {url}{extra}: "
            "start one with `poq chain up` or pass --rpc-url / POQ_RPC_URL"
        )


class TransactionFailed(ChainError):
    """A transaction was mined but reverted without a decodable custom error."""


class ContractRevert(ChainError):
    """A custom error raised by the PoQ contract, decoded with its arguments.

    offchain.chain.reverts declares a subclass per ABI error (e.g. WrongPhase), so callers can
    `except reverts.WrongPhase`.
    """

    error_name: str = "ContractRevert"

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.error_name = cls.__name__

    def __init__(self, args: dict[str, object] | None = None, *, name: str | None = None) -> None:
        if name is not None:
            self.error_name = name
        self.error_args = dict(args or {})
        shown = ", ".join(f"{k}={_show(v)}" for k, v in self.error_args.items())
        super().__init__(f"contract reverted: {self.error_name}({shown})")


class StateError(PoQError):
    """An agent's local state conflicts with another process or with the chain."""


def one_line(exc: BaseException | str, limit: int = 200) -> str:
    """The first non-empty line of an exception's message (or of a text), cut to `limit` characters."""
    text = exc if isinstance(exc, str) else str(exc)
    for line in text.strip().splitlines():
        if line.strip():
            return line.strip()[:limit]
    return "" if isinstance(exc, str) else type(exc).__name__


def named_line(exc: BaseException, limit: int = 160) -> str:
    """`Type: first line of its message`, or the type alone for an empty message."""
    line = one_line(str(exc), limit)
    return f"{type(exc).__name__}: {line}" if line else type(exc).__name__


def _show(value: object) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value)
