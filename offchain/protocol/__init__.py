"""PoQ protocol math, pure: WAD integers bit-identical to the contract, floats for simulation.

No web3, torch, logging or I/O here: values in, values out.
"""

from offchain.protocol import floats, wad
from offchain.protocol.batch import BatchSettlement, settle_batch
from offchain.protocol.params import AGGREGATIONS, CENTER_MODES, MAX_K, TRUST_RULES, WAD, Params
from offchain.protocol.settlement import RoundSettlement, expiry_penalty, settle_round

__all__ = [
    "AGGREGATIONS",
    "BatchSettlement",
    "CENTER_MODES",
    "MAX_K",
    "WAD",
    "Params",
    "TRUST_RULES",
    "RoundSettlement",
    "expiry_penalty",
    "floats",
    "settle_batch",
    "settle_round",
    "wad",
]
