"""Keeping a user's own indicators: create, read, change, delete.

Every write proves the definition first (``check_custom_indicator``), so a
stored indicator always renders into a clean script. Functions flush and never
commit; the caller commits, then drops the user's catalog cache.
"""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.db.indicator_models import CustomIndicator
from engine.errors import Conflict, InvalidRequest, NotFound
from engine.library.catalog_store import custom_fields
from engine.library.custom_indicators import (
    MAX_OUTPUTS,
    MAX_PARAMS,
    Category,
    CustomIndicatorDraft,
    CustomIndicatorFields,
    CustomParam,
    Slug,
    Template,
    check_custom_indicator,
)

MAX_CUSTOM_INDICATORS = 100


class CustomIndicatorPatch(BaseModel):
    """Changes to a user-defined indicator; its kind never changes.

    Omitted fields keep their value; the merged definition is checked whole.
    """

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=80)
    category: Category | None = None
    description: str | None = Field(None, max_length=500)
    params: list[CustomParam] | None = Field(None, max_length=MAX_PARAMS)
    outputs: list[Slug] | None = Field(None, min_length=1, max_length=MAX_OUTPUTS)
    overlay: bool | None = None
    template: Template | None = None


def create_custom(
    session: Session, user_id: uuid.UUID, draft: CustomIndicatorDraft
) -> CustomIndicator:
    """Check and insert a new indicator of ``user_id``; flushes.

    Raises Conflict (INDICATOR_KIND_TAKEN, TOO_MANY_INDICATORS) or
    IndicatorTemplateInvalid.
    """
    taken = session.scalar(
        select(CustomIndicator.id).where(
            CustomIndicator.user_id == user_id, CustomIndicator.kind == draft.kind
        )
    )
    if taken is not None:
        raise Conflict(
            code="INDICATOR_KIND_TAKEN",
            message=f"You already have an indicator of kind '{draft.kind}'.",
        )
    count = session.scalar(
        select(func.count()).where(CustomIndicator.user_id == user_id)
    )
    if count >= MAX_CUSTOM_INDICATORS:
        raise Conflict(
            code="TOO_MANY_INDICATORS",
            message=f"You can keep at most {MAX_CUSTOM_INDICATORS} indicators.",
        )

    check_custom_indicator(draft.kind, draft)
    row = CustomIndicator(user_id=user_id, kind=draft.kind)
    _assign(row, draft)
    session.add(row)
    session.flush()
    return row


def owned_custom(
    session: Session, user_id: uuid.UUID, indicator_id: uuid.UUID
) -> CustomIndicator:
    """The user's indicator with this id, or NotFound (also for others' ids)."""
    row = session.scalar(
        select(CustomIndicator).where(
            CustomIndicator.id == indicator_id, CustomIndicator.user_id == user_id
        )
    )
    if row is None:
        raise NotFound(message="Indicator not found.")
    return row


def update_custom(
    session: Session, row: CustomIndicator, patch: CustomIndicatorPatch
) -> CustomIndicator:
    """Apply ``patch`` to ``row`` after checking the merged definition; flushes."""
    merged = {
        **custom_fields(row).model_dump(mode="json"),
        **patch.model_dump(mode="json", exclude_unset=True),
    }
    try:
        fields = CustomIndicatorFields.model_validate(merged)
    except ValidationError as exc:
        errors = [
            {"field": ".".join(map(str, e["loc"])), "message": e["msg"]}
            for e in exc.errors(include_url=False, include_input=False)
        ]
        raise InvalidRequest(details={"errors": errors}) from None

    check_custom_indicator(row.kind, fields)
    _assign(row, fields)
    session.flush()
    return row


def _assign(row: CustomIndicator, fields: CustomIndicatorFields) -> None:
    row.name = fields.name.strip()
    row.category = fields.category
    row.description = fields.description
    row.params = [p.model_dump(mode="json", exclude_none=True) for p in fields.params]
    row.outputs = list(fields.outputs)
    row.overlay = fields.overlay
    row.template = fields.template
