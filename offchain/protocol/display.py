"""How people read the contract's numbers: wei as exact ETH, deployment parameters with their units.

Shared by `poq params` and the dashboard, so both spell a parameter the same way. Pure: no I/O.
"""

from __future__ import annotations

from offchain.protocol.params import NAMED_FIELDS, WAD_FIELDS
from offchain.protocol.wad import WAD

WEI_FIELDS = frozenset({"rewardUnit", "minStake", "referenceBond"})  # parameters in wei
_NAMES = NAMED_FIELDS  # parameters that index a list of names
_SECONDS_SUFFIXES = ("Window", "Delay", "Length")  # parameters in seconds


def eth_text(wei: int) -> str:
    """Wei as an exact decimal ETH string ("1.5", "-0.000001", "0"): no rounding, no float."""
    sign = "-" if wei < 0 else ""
    whole, frac = divmod(abs(int(wei)), 10**18)
    fraction = f"{frac:018d}".rstrip("0")
    return f"{sign}{whole}.{fraction}" if fraction else f"{sign}{whole}"


def eth_rounded(wei: int, places: int = 6) -> str:
    """Wei as ETH rounded half up (on the magnitude) to `places` decimals, for reading: "0.050427".
    The dashboard rounds the same way (`ethShown` in its script) and keeps `eth_text` in the title."""
    step = 10 ** (18 - places)
    units = (abs(int(wei)) + step // 2) // step
    whole, fraction = divmod(units, 10**places)
    sign = "-" if wei < 0 and units else ""
    return f"{sign}{whole}.{fraction:0{places}d}"


def param_text(name: str, value: object) -> str:
    """A deployment parameter as a person reads it: "0.5" (WAD), "mean", "0.01 ETH", "600 s"."""
    if not isinstance(value, int) or isinstance(value, bool):
        return str(value)
    if name in WAD_FIELDS:
        return f"{value / WAD:g}"
    if name in _NAMES:
        names = _NAMES[name]
        return names[value] if 0 <= value < len(names) else str(value)
    if name in WEI_FIELDS:
        return f"{eth_text(value)} ETH"
    if name.endswith(_SECONDS_SUFFIXES):
        return f"{value} s"
    return str(value)
