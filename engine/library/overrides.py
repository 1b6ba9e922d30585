"""Admin overrides of built-in indicators, overlaid on the catalog.

An admin may retitle nothing and invent nothing: only a built-in's description,
its category, and each parameter's default and bounds change. Bounds may only
narrow what the built-in allows, because the Pine templates are proven for
the built-in's range; the default must stay inside the (new) bounds.
"""

from __future__ import annotations

import dataclasses
import math
import uuid
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.catalog import CATALOG, PRICE_SOURCES, IndicatorDef, ParamDef
from engine.db.indicator_models import IndicatorOverride
from engine.errors import InvalidRequest, NotFound

Category = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,31}$")]
Number = Annotated[float, Field(allow_inf_nan=False)]


class ParamOverride(BaseModel):
    """New default and bounds of one parameter; omitted keys keep the built-in's."""

    model_config = ConfigDict(extra="forbid")

    default: bool | Number | str | None = None
    min: Number | None = None
    max: Number | None = None


class OverridePatch(BaseModel):
    """Changes to a built-in. A key set to null goes back to the built-in."""

    model_config = ConfigDict(extra="forbid")

    description: str | None = Field(None, min_length=1, max_length=500)
    category: Category | None = None
    params: dict[str, ParamOverride | None] = Field(default_factory=dict)


def builtin_definitions(session: Session) -> list[IndicatorDef]:
    """Every built-in with its admin override applied (one query)."""
    rows = {row.kind: row for row in session.scalars(select(IndicatorOverride))}
    return [
        apply_override(entry, rows[kind]) if kind in rows else entry
        for kind, entry in CATALOG.items()
    ]


def apply_override(entry: IndicatorDef, row: IndicatorOverride) -> IndicatorDef:
    """``entry`` as the override ``row`` changes it."""
    params = tuple(
        _param_with(param, (row.params or {}).get(param.name) or {})
        for param in entry.params
    )
    return dataclasses.replace(
        entry,
        description=row.description or entry.description,
        category=row.category or entry.category,
        params=params,
    )


def _param_with(param: ParamDef, changes: dict[str, Any]) -> ParamDef:
    kept = {key: value for key, value in changes.items() if value is not None}
    if param.type == "int" and "default" in kept:
        kept["default"] = int(kept["default"])
    return dataclasses.replace(param, **kept)


def update_override(
    session: Session, kind: str, patch: OverridePatch, admin_id: uuid.UUID
) -> IndicatorDef:
    """Apply an admin's patch to a built-in; return the resulting entry. Flushes.

    Raises NotFound for a kind that is not built in and InvalidRequest (with
    one entry per problem) for an unknown parameter or bounds out of range.
    """
    builtin = CATALOG.get(kind)
    if builtin is None:
        raise NotFound(message=f"There is no built-in indicator '{kind}'.")

    row = session.get(IndicatorOverride, kind)
    if row is None:
        row = IndicatorOverride(kind=kind, params={})
        session.add(row)
    for field in ("description", "category"):
        if field in patch.model_fields_set:
            setattr(row, field, getattr(patch, field))

    params = dict(row.params or {})
    problems = []
    for name, change in patch.params.items():
        param = builtin.param(name)
        if param is None:
            problems.append(f"{kind} has no parameter '{name}'")
            continue
        merged: dict[str, Any] = {}
        if change is not None:  # None drops the whole override of this param
            merged = {**params.get(name, {}), **change.model_dump(exclude_unset=True)}
        merged = {key: value for key, value in merged.items() if value is not None}
        problem = _override_problem(param, merged)
        if problem:
            problems.append(f"{kind}.{name} {problem}")
        elif merged:
            params[name] = merged
        else:
            params.pop(name, None)
    if problems:
        errors = [{"field": "params", "message": p} for p in problems]
        raise InvalidRequest(details={"errors": errors})

    row.params = params
    row.updated_by = admin_id
    session.flush()
    return apply_override(builtin, row)


def _override_problem(param: ParamDef, change: dict[str, Any]) -> str | None:
    default = change.get("default", param.default)
    low, high = change.get("min", param.min), change.get("max", param.max)
    if param.type in ("source", "bool"):
        if "min" in change or "max" in change:
            return "takes no min or max"
        if param.type == "source" and default not in PRICE_SOURCES:
            return f"default must be one of {', '.join(PRICE_SOURCES)}"
        if param.type == "bool" and not isinstance(default, bool):
            return "default must be true or false"
        return None

    values = [v for v in (default, low, high) if v is not None]
    if any(isinstance(v, bool) or not isinstance(v, int | float) for v in values):
        return "default, min and max must be numbers"
    if param.type == "int" and not all(float(v).is_integer() for v in values):
        return "is an int: default, min and max must be whole numbers"
    if param.min is not None and low is not None and low < param.min:
        return f"min may not go below the built-in's {param.min:g}"
    if param.max is not None and high is not None and high > param.max:
        return f"max may not go above the built-in's {param.max:g}"
    if low is not None and high is not None and low > high:
        return "min must not exceed max"
    if (low is not None and default < low) or (high is not None and default > high):
        return "default must lie between min and max"
    if not math.isfinite(float(default)):
        return "default must be a finite number"
    return None
