"""Versions of a strategy: read one, compare two, revert, label.

A diff has two parts: the spec changes as a flat list of ``{path, op, old,
new}`` (paths like ``risk.trailing.value`` or ``indicators[ema_200].params``;
a list of objects with ids is matched by id, so inserting an indicator does not
read as every later one changing) and a unified diff of the Pine code.
"""

from __future__ import annotations

import difflib
import re
import uuid
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.db.models import Strategy, StrategyVersion
from engine.errors import Conflict, InvalidRequest, NotFound
from engine.library.strategies import append_version, manual_version

MAX_LABEL_LENGTH = 40
_LABEL = re.compile(r"^[\w.\- ]+$")


@dataclass(frozen=True)
class VersionDiff:
    """What changed from one version to another."""

    from_number: int
    to_number: int
    changes: list[dict[str, Any]]
    code_diff: str


def find_version(
    session: Session, strategy_id: uuid.UUID, number: int
) -> StrategyVersion:
    """Version ``number`` of the strategy, or NotFound naming the number."""
    version = session.scalar(
        select(StrategyVersion).where(
            StrategyVersion.strategy_id == strategy_id,
            StrategyVersion.number == number,
        )
    )
    if version is None:
        raise NotFound(
            code="VERSION_NOT_FOUND",
            message=f"Version {number} of this strategy does not exist.",
            details={"version": number},
        )
    return version


def spec_changes(old: Any, new: Any, path: str = "") -> list[dict[str, Any]]:
    """Every leaf-level difference between two JSON values, in document order."""
    if isinstance(old, dict) and isinstance(new, dict):
        if old.get("type", new.get("type")) != new.get("type", old.get("type")):
            # A condition or operand of another type is one change, not many.
            return [{"path": path, "op": "changed", "old": old, "new": new}]
        return _by_keys(old, new, lambda key: f"{path}.{key}" if path else str(key))
    if isinstance(old, list) and isinstance(new, list):
        if _keyed(old) and _keyed(new):
            olds = {item["id"]: item for item in old}
            news = {item["id"]: item for item in new}
            return _by_keys(olds, news, lambda key: f"{path}[{key}]")
        width = max(len(old), len(new))
        padded_old = [*old, *[_MISSING] * (width - len(old))]
        padded_new = [*new, *[_MISSING] * (width - len(new))]
        return _by_keys(
            dict(enumerate(padded_old)),
            dict(enumerate(padded_new)),
            lambda index: f"{path}[{index}]",
        )
    if old == new:
        return []
    return [{"path": path, "op": "changed", "old": old, "new": new}]


_MISSING = object()


def _by_keys(old: dict, new: dict, where: Any) -> list[dict[str, Any]]:
    changes = []
    for key in [*old, *(k for k in new if k not in old)]:
        changes += _pair(old.get(key, _MISSING), new.get(key, _MISSING), where(key))
    return changes


def _pair(old: Any, new: Any, path: str) -> list[dict[str, Any]]:
    # A null and a missing key both mean "not set" in a spec.
    old_absent = old is _MISSING or old is None
    new_absent = new is _MISSING or new is None
    if old_absent and new_absent:
        return []
    if old_absent:
        return [{"path": path, "op": "added", "old": None, "new": new}]
    if new_absent:
        return [{"path": path, "op": "removed", "old": old, "new": None}]
    return spec_changes(old, new, path)


def _keyed(items: list[Any]) -> bool:
    ids = [item.get("id") for item in items if isinstance(item, dict)]
    return (
        len(ids) == len(items)
        and all(isinstance(i, str) for i in ids)
        and len(set(ids)) == len(ids)
    )


def code_diff(old: str, new: str, from_name: str, to_name: str) -> str:
    """A unified diff of two scripts (empty when they are the same)."""
    lines = difflib.unified_diff(
        old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile=from_name,
        tofile=to_name,
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def diff_versions(
    session: Session, strategy_id: uuid.UUID, from_number: int, to_number: int
) -> VersionDiff:
    """Compare two versions of one strategy (either may be the older)."""
    versions = session.scalars(
        select(StrategyVersion).where(
            StrategyVersion.strategy_id == strategy_id,
            StrategyVersion.number.in_([from_number, to_number]),
        )
    ).all()
    by_number = {version.number: version for version in versions}
    for number in (from_number, to_number):
        if number not in by_number:
            find_version(session, strategy_id, number)  # raises the coded 404
    old, new = by_number[from_number], by_number[to_number]
    changes = spec_changes(old.spec, new.spec)
    text = code_diff(old.code, new.code, f"v{from_number}.pine", f"v{to_number}.pine")
    return VersionDiff(from_number, to_number, changes, text)


def revert_to(session: Session, strategy: Strategy, number: int) -> StrategyVersion:
    """Append a new version with the spec of version ``number``.

    The spec is rendered again with today's templates, so the new version's
    code is what that spec renders to now. Its source is "manual" and its
    ``parent_number`` names the version it came from.
    """
    old = find_version(session, strategy.id, number)
    rendered = manual_version(old.spec, parent_number=number)
    new = replace(
        rendered,
        prompt_version=old.prompt_version,
        provider=old.provider,
        model=old.model,
    )
    return append_version(session, strategy, new)


def clean_label(raw: str) -> str:
    """A label as stored: trimmed, inner spaces folded, checked for shape."""
    label = " ".join(raw.split())
    if not label or len(label) > MAX_LABEL_LENGTH or not _LABEL.match(label):
        raise InvalidRequest(
            code="INVALID_LABEL",
            message=f"A label is 1 to {MAX_LABEL_LENGTH} letters, digits, spaces, "
            "dots, dashes or underscores.",
        )
    return label


def set_label(session: Session, version: StrategyVersion, raw: str) -> None:
    """Give ``version`` a label unique within its strategy.

    A label held by another version of the same strategy is a Conflict with
    code LABEL_TAKEN naming that version; move it by deleting it there first.
    """
    label = clean_label(raw)
    holder = session.scalar(
        select(StrategyVersion.number).where(
            StrategyVersion.strategy_id == version.strategy_id,
            StrategyVersion.label == label,
            StrategyVersion.id != version.id,
        )
    )
    if holder is not None:
        raise _label_taken(label, holder)
    version.label = label
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        # A concurrent request took the label between our check and write.
        raise _label_taken(label, None) from None


def _label_taken(label: str, holder: int | None) -> Conflict:
    return Conflict(
        code="LABEL_TAKEN",
        message=f"Another version of this strategy is labelled '{label}'.",
        details={"label": label, "version": holder},
    )
