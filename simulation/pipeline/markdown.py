"""Markdown helpers shared by the report's sections."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def fmt(x: Any, spec: str = ".2f") -> str:
    """A number for a table cell; None and NaN print as an en dash."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return format(x, spec)


def md_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])
