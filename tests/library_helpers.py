"""Specs and a SQL statement counter for the strategy library tests."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

RSI_SPEC: dict[str, Any] = {
    "name": "RSI Swing",
    "description": "Buys oversold RSI, sells overbought.",
    "indicators": [{"id": "rsi", "kind": "rsi", "params": {"length": 14}}],
    "long": {
        "entry": {
            "type": "cross",
            "direction": "above",
            "left": {"type": "indicator", "id": "rsi"},
            "right": {"type": "number", "value": 30},
        }
    },
    "short": {
        "entry": {
            "type": "cross",
            "direction": "below",
            "left": {"type": "indicator", "id": "rsi"},
            "right": {"type": "number", "value": 70},
        }
    },
    "risk": {"stop": {"type": "percent", "value": 2}},
}

EMA_SPEC: dict[str, Any] = {
    "name": "EMA Cross",
    "description": "Fast EMA crosses the slow one.",
    "indicators": [
        {"id": "ema_fast", "kind": "ema", "params": {"length": 9}},
        {"id": "ema_slow", "kind": "ema", "params": {"length": 21}},
    ],
    "long": {
        "entry": {
            "type": "cross",
            "direction": "above",
            "left": {"type": "indicator", "id": "ema_fast"},
            "right": {"type": "indicator", "id": "ema_slow"},
        }
    },
}


def spec(base: dict[str, Any] = RSI_SPEC, **changes: Any) -> dict[str, Any]:
    """A deep copy of ``base`` with top-level keys replaced."""
    return {**copy.deepcopy(base), **changes}


@contextmanager
def counted_statements() -> Iterator[list[str]]:
    """Collect the SQL statements the process-wide engine runs inside the block."""
    from engine.db import get_engine

    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        # SQLite's BEGIN IMMEDIATE is transaction control, not a query.
        if not statement.startswith("BEGIN"):
            statements.append(statement)

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)
