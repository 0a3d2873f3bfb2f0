"""Support for the stateful test: deterministic randomness, cached view calls, parameter strategies."""

from __future__ import annotations

import os
import random
from collections import Counter
from typing import Any

from eth_abi import decode, encode
from eth_utils import function_signature_to_4byte_selector, get_abi_input_types, get_abi_output_types
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from offchain.chain.client import PoQClient
from offchain.protocol import WAD, Params

START_TIME = 3_000_000_000  # year 2065: ahead of the wall clock, and deadlines still fit uint32
N_INFERENCE, N_EVALUATORS = 3, 4
N_NODES = N_INFERENCE + N_EVALUATORS
FIXED_GAS = 2_000_000
SETTINGS = settings(
    max_examples=30,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
MIN_STEPS = 1_000
MAX_UNSETTLED_TASKS = 4  # bounds the phaseOf reads per step

STEPS: Counter[str] = Counter()  # executed rules by name and outcome, over the whole run
MACHINE_STEPS: list[int] = []  # steps run per machine (the deploy included)


class _SeededOs:
    """Stands in for `os` inside eth-tester's py-evm backend: urandom (prevrandao) from a seed."""

    rng = random.Random(0)

    def urandom(self, n: int) -> bytes:
        return self.rng.randbytes(n)

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)


_SEEDED_OS = _SeededOs()


class _Views:
    """View calls through eth-tester's own API, encoded with eth_abi: the same EVM run as
    `PoQClient.call` without web3's request formatting, which costs more than the EVM here.
    `reader` must never send a transaction: its nonce is read once (eth-tester would otherwise
    build a VM per call to look it up)."""

    def __init__(self, reader: PoQClient) -> None:
        self.tester = reader.w3.provider.ethereum_tester  # type: ignore[attr-defined]
        nonce = reader.w3.eth.get_transaction_count(reader.sender)
        self.tx = {"from": reader.sender, "to": reader.address, "gas": 5_000_000, "nonce": nonce}
        self.abi = {e["name"]: e for e in reader.contract.abi if e.get("type") == "function"}
        self.codecs: dict[str, tuple[bytes, list[str], list[str]]] = {}

    def __call__(self, fn: str, *args: Any) -> Any:
        if fn not in self.codecs:
            abi = self.abi[fn]
            inputs = list(get_abi_input_types(abi))
            selector = function_signature_to_4byte_selector(f"{fn}({','.join(inputs)})")
            self.codecs[fn] = (selector, inputs, list(get_abi_output_types(abi)))
        selector, inputs, outputs = self.codecs[fn]
        raw = self.tester.call({**self.tx, "data": "0x" + (selector + encode(inputs, args)).hex()}, "latest")
        values = decode(outputs, bytes.fromhex(raw[2:]))
        spec = self.abi[fn]["outputs"]
        if len(values) == 1 and spec[0]["type"] == "tuple":  # a struct: by field name
            return {c["name"]: v for c, v in zip(spec[0]["components"], values[0], strict=True)}
        return values[0] if len(values) == 1 else values

    def balance(self) -> int:
        return int(self.tester.get_balance(self.tx["to"]))


def params_strategy() -> st.SearchStrategy[Params]:
    wad_weight = st.one_of(st.integers(0, 3 * WAD), st.sampled_from([0, WAD // 2, WAD, 2 * WAD]))
    window = st.integers(50, 200)
    return st.builds(
        _params,
        alpha_f=wad_weight,
        beta_f=wad_weight,
        alpha_m=wad_weight,
        beta_m=wad_weight,
        slash=st.one_of(st.integers(0, 5 * WAD), st.just(WAD)),
        reward_unit=st.sampled_from([10**16, 10**16 + 7, 3 * 10**15 + 1]),
        min_stake=st.sampled_from([10**15, 10**16, 10**17]),
        k=st.integers(1, 3),
        aggregation=st.integers(0, 3),
        trust=st.tuples(st.integers(0, 1), st.integers(0, WAD), st.integers(1, WAD), st.integers(WAD, 18 * WAD),
                        st.one_of(st.just(WAD), st.integers(0, WAD))),
        max_pool=st.sampled_from([4, 5, 32]),
        windows=st.tuples(window, window, window, window),
        unbonding_extra=st.integers(1, 300),
        epoch=st.integers(60, 150),
    )


def _params(
    alpha_f: int,
    beta_f: int,
    alpha_m: int,
    beta_m: int,
    slash: int,
    reward_unit: int,
    min_stake: int,
    k: int,
    aggregation: int,
    trust: tuple[int, int, int, int, int],
    max_pool: int,
    windows: tuple[int, int, int, int],
    unbonding_extra: int,
    epoch: int,
) -> Params:
    answer, reference, commit, reveal = windows
    return Params(
        alphaF=alpha_f,
        betaF=beta_f,
        alphaM=alpha_m,
        betaM=beta_m,
        slashPenalty=slash,
        rewardUnit=reward_unit,
        minStake=min_stake,
        k=k,
        aggregation=aggregation,
        maxPoolSize=max_pool,
        answerWindow=answer,
        referenceWindow=reference,
        commitWindow=commit,
        revealWindow=reveal,
        unbondingDelay=sum(windows) + unbonding_extra,
        epochLength=epoch,
        trustRule=trust[0],
        trustLambda=trust[1],
        trustMin=trust[2],
        trustMax=trust[3],
        # trust[4] == WAD keeps the default initial weight 1.0; else it places trustInitial in [trustMin, trustMax]
        trustInitial=WAD if trust[4] == WAD else trust[2] + (trust[3] - trust[2]) * trust[4] // WAD,
    )


def _norm(value: Any) -> Any:
    """Addresses compare case-insensitively; everything else as is."""
    return value.lower() if isinstance(value, str) and value.startswith("0x") else value
