"""Support for the stateful test: actors, sizes, deterministic randomness, fast view calls and the
deployment parameters' strategy."""

from __future__ import annotations

import os
import random
from collections import Counter
from typing import Any

from eth_abi import decode, encode
from eth_utils import function_signature_to_4byte_selector, get_abi_input_types, get_abi_output_types
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

from offchain.chain.client import PoQClient
from offchain.protocol import WAD, Params

START_TIME = 3_000_000_000  # year 2065: ahead of the wall clock, and deadlines still fit uint32
# dev keys: 0 deploys (and is the treasury when params.treasury is 0), 1 is Devnet's requester
NODE_KEYS = tuple(range(2, 9))
SECOND_REQUESTER_KEY, TREASURY_KEY, READER_KEY = 9, 10, 11
ALL_KEYS = tuple(range(12))
FIXED_GAS = 6_000_000  # skips estimation: a reverted transaction is mined with status 0

# Size of the CI run: per aggregation mode (test_contract_matches_model runs once per mode), EXAMPLES
# machines of STEPS_PER_EXAMPLE steps (the deploy is the first). POQ_STATEFUL_EXAMPLES asks for a longer
# run, e.g. `POQ_STATEFUL_EXAMPLES=50 pytest tests/contract/test_stateful.py` from bench/ or a nightly
# job; POQ_STATEFUL_SHRINK=1 shrinks a failing example (minutes of EVM replays) before printing it.
EXAMPLES = int(os.environ.get("POQ_STATEFUL_EXAMPLES", "6"))
STEPS_PER_EXAMPLE = 50
SHRINK = bool(os.environ.get("POQ_STATEFUL_SHRINK"))
MIN_STEPS = 1_000  # over the four modes
SETTINGS = settings(
    max_examples=EXAMPLES,
    stateful_step_count=STEPS_PER_EXAMPLE,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, *([Phase.shrink] if SHRINK else [])],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
MAX_LIVE_BATCHES = 3  # bounds the stageOf/getBatch reads per step

STEPS: Counter[str] = Counter()  # executed rules by name and outcome, over the whole run
MACHINE_STEPS: list[int] = []  # steps run per machine
MACHINE_BATCHES: list[int] = []  # batches finalized per machine before the teardown
DEPLOYED: Counter[tuple[int, int]] = Counter()  # (aggregation, K) per machine


class _SeededOs:
    """Stands in for `os` inside eth-tester's py-evm backend: urandom (prevrandao) from a seed."""

    rng = random.Random(0)

    def urandom(self, n: int) -> bytes:
        return self.rng.randbytes(n)

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)


SEEDED_OS = _SeededOs()


class Views:
    """View calls through eth-tester's own API, encoded with eth_abi: the same EVM run as
    `PoQClient.call` without web3's request formatting, which costs more than the EVM here.
    `reader` must never send a transaction: its nonce is read once (eth-tester validates it)."""

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


def params_strategy(aggregation: int, first_k: int) -> st.SearchStrategy[Params]:
    """Random deployments with `aggregation` fixed; K's simplest value is `first_k`, so the first
    (simplest) example of each mode's run deploys another K (see test_contract_matches_model)."""
    wad_weight = st.one_of(st.integers(0, 3 * WAD), st.sampled_from([0, WAD // 2, WAD, 2 * WAD]))
    window = st.integers(30, 150)
    return st.builds(
        _params,
        weights=st.tuples(wad_weight, wad_weight, wad_weight, wad_weight),
        slash=st.one_of(st.just(WAD), st.integers(0, 5 * WAD)),
        reward_unit=st.sampled_from([10**16, 10**16 + 7, 3 * 10**15 + 1]),
        min_stake=st.sampled_from([10**16, 10**17]),
        k=st.sampled_from([first_k, *(k for k in (1, 2, 3) if k != first_k)]),
        aggregation=st.just(aggregation),
        trust=st.tuples(st.integers(0, 2), st.integers(0, WAD), st.integers(1, WAD), st.integers(WAD, 18 * WAD),
                        st.integers(0, WAD)),
        pool=st.sampled_from([2, 3, 4]),
        batch=st.sampled_from([1, 3, 5, 8]),
        windows=st.tuples(window, window, window, window),
        unbonding_extra=st.integers(1, 300),
        epoch=st.integers(60, 150),
        smoothing=st.one_of(st.just(WAD // 5), st.integers(1, WAD)),
        rules=st.tuples(st.integers(0, 1), st.integers(0, 1), st.one_of(st.just(WAD // 2), st.integers(1, WAD - 1)),
                        st.integers(0, 1), st.sampled_from([0, 10**16, 7 * 10**15 + 3])),
    )


def _params(weights: tuple[int, int, int, int], slash: int, reward_unit: int, min_stake: int, k: int,
            aggregation: int, trust: tuple[int, int, int, int, int], pool: int, batch: int,
            windows: tuple[int, int, int, int], unbonding_extra: int, epoch: int, smoothing: int,
            rules: tuple[int, int, int, int, int]) -> Params:
    answer, reference, commit, reveal = windows
    rule, lam, trust_min, trust_max, at = trust
    return Params(
        alphaF=weights[0],
        betaF=weights[1],
        alphaM=weights[2],
        betaM=weights[3],
        slashPenalty=slash,
        rewardUnit=reward_unit,
        minStake=min_stake,
        k=k,
        aggregation=aggregation,
        maxPoolSize=max(k, pool),  # small pools: full pools, evictions and PoolFull are common
        answerWindow=answer,
        referenceWindow=reference,
        commitWindow=commit,
        revealWindow=reveal,
        unbondingDelay=sum(windows) + unbonding_extra,
        epochLength=epoch,
        trustRule=rule,
        trustLambda=lam,
        trustMin=trust_min,
        trustMax=trust_max,
        trustInitial=trust_min + (trust_max - trust_min) * at // WAD,  # anywhere in [trustMin, trustMax]
        costSmoothing=smoothing,
        evaluatorReward=rules[0] if k > 1 else 0,  # the peer rule needs a peer
        costRule=rules[1],
        costQuantile=rules[2],
        feeRule=rules[3],
        referenceBond=rules[4],
        maxBatchSize=batch,
    )


def draw_client(data: st.DataObject, clients: list[PoQClient], label: str) -> PoQClient:
    """One of `clients`, drawn (and shown in a failing example) by its address."""
    address = data.draw(st.sampled_from([c.sender for c in clients]), label=label)
    return next(c for c in clients if c.sender == address)


def norm(value: Any) -> Any:
    """Addresses compare case-insensitively; everything else as is."""
    return value.lower() if isinstance(value, str) and value.startswith("0x") else value
