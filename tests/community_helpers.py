"""Data and tools shared by the catalog and community tests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

SMOOTH_RSI = {
    "kind": "my_rsi_smooth",
    "name": "Smoothed RSI",
    "category": "momentum",
    "description": "RSI smoothed by an EMA",
    "params": [
        {"name": "source", "type": "source", "default": "close"},
        {"name": "length", "type": "int", "default": 14, "min": 2, "max": 200},
        {"name": "smooth", "type": "int", "default": 5, "min": 1, "max": 50},
    ],
    "template": "ta.ema(ta.rsi({{ source }}, {{ length }}), {{ smooth }})",
}


def spec_for(name: str, kinds: Sequence[str]) -> dict[str, Any]:
    """A stored spec using ``kinds`` (as the library keeps them)."""
    uses = [{"id": f"i{n}_{kind}"[:24], "kind": kind} for n, kind in enumerate(kinds)]
    return {"name": name, "indicators": uses, "long": {"entry": {"type": "all"}}}
