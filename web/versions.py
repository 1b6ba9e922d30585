"""``/api/v1/strategies/<id>/versions``: every version, a diff, revert, labels.

Versions never change: a revert appends a new one with the old spec, and a
label is the only thing that can be put on (or taken off) a version. Another
user's strategy, or a deleted one, is simply not found here.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from engine.db import StrategyVersion
from engine.library.listing import list_versions
from engine.library.trending import record_spec_use
from engine.library.versions import diff_versions, find_version, revert_to, set_label
from web.auth import require_user
from web.catalog_common import shared_redis, user_catalog
from web.db import db_session
from web.library_schemas import (
    DiffQuery,
    LabelBody,
    SpecChange,
    VersionDetail,
    VersionDiffView,
    VersionInfo,
    VersionListQuery,
    VersionPage,
    dump_aliased,
)
from web.operations import operation
from web.schemas import dump
from web.strategy_access import owned_strategy, strategy_route

bp = Blueprint("versions", __name__, url_prefix="/api/v1/strategies/<strategy_id>")

_INFO_FIELDS = tuple(VersionInfo.model_fields)


def _info(row: object) -> VersionInfo:
    return VersionInfo(**{name: getattr(row, name) for name in _INFO_FIELDS})


def _detail(version: StrategyVersion) -> VersionDetail:
    return VersionDetail(
        **_info(version).model_dump(), spec=version.spec, code=version.code
    )


@bp.get("/versions")
@require_user
@strategy_route
@operation(
    "List a strategy's versions, newest first (without spec and code)",
    tag="versions",
    query=VersionListQuery,
    responses={200: VersionPage},
    errors=(404,),
)
def list_all(strategy_id: str, query: VersionListQuery):
    session = db_session()
    strategy = owned_strategy(session, strategy_id)
    page = list_versions(session, strategy.id, page=query.page, size=query.size)
    body = VersionPage(
        items=[_info(row) for row in page.items],
        page=query.page,
        size=query.size,
        total=page.total or 0,
    )
    return jsonify(dump(body))


@bp.get("/versions/diff")
@require_user
@strategy_route
@operation(
    "Compare two versions: spec changes and a unified diff of the code",
    tag="versions",
    query=DiffQuery,
    responses={200: VersionDiffView},
    errors=(404,),
)
def diff(strategy_id: str, query: DiffQuery):
    session = db_session()
    strategy = owned_strategy(session, strategy_id)
    found = diff_versions(session, strategy.id, query.from_version, query.to_version)
    body = VersionDiffView(
        from_version=found.from_number,
        to_version=found.to_number,
        changes=[SpecChange(**change) for change in found.changes],
        code_diff=found.code_diff,
    )
    return jsonify(dump_aliased(body))


@bp.get("/versions/<int:number>")
@require_user
@strategy_route
@operation(
    "Read one version: its spec, code and where it came from",
    tag="versions",
    responses={200: VersionDetail},
    errors=(404,),
)
def get_one(strategy_id: str, number: int):
    session = db_session()
    strategy = owned_strategy(session, strategy_id)
    return jsonify(dump(_detail(find_version(session, strategy.id, number))))


@bp.post("/versions/<int:number>/revert")
@require_user
@strategy_route
@operation(
    "Make a new current version from an old one's spec",
    tag="versions",
    responses={201: VersionDetail},
    errors=(404,),
)
def revert(strategy_id: str, number: int):
    session = db_session()
    strategy = owned_strategy(session, strategy_id)
    with user_catalog():
        version = revert_to(session, strategy, number)
    session.commit()
    record_spec_use(shared_redis(), version.spec)
    response = jsonify(dump(_detail(version)))
    response.status_code = 201
    return response


@bp.put("/versions/<int:number>/label")
@require_user
@strategy_route
@operation(
    "Label a version (unique within the strategy)",
    tag="versions",
    body=LabelBody,
    responses={200: VersionInfo},
    errors=(404, 409),
)
def put_label(strategy_id: str, number: int, body: LabelBody):
    session = db_session()
    strategy = owned_strategy(session, strategy_id)
    version = find_version(session, strategy.id, number)
    set_label(session, version, body.label)
    session.commit()
    return jsonify(dump(_info(version)))


@bp.delete("/versions/<int:number>/label")
@require_user
@strategy_route
@operation(
    "Take a version's label off",
    tag="versions",
    responses={},
    errors=(404,),
)
def delete_label(strategy_id: str, number: int):
    session = db_session()
    strategy = owned_strategy(session, strategy_id)
    version = find_version(session, strategy.id, number)
    version.label = None
    session.commit()
    return Response(status=204)
