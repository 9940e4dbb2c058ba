"""Organizer units and each region's fallback unit (Art. 16, 19), as administrators keep
them. Every change is one transaction with its history event (appeal_id None).

Rules checked here, not in the pages:
- a unit's code is unique; its parent unit is active, not below it, and belongs to its region
  or a region above;
- a unit with open tasks, or that is a region's fallback unit, stays active;
- a region's fallback unit is active and belongs to that region or one above it.
"""
import re

from sqlalchemy import func, select

from runtime import history
from runtime.errors import Conflict, InvalidInput, NotFound
from runtime.models import UserTask

from . import texts
from .models import OrganizerUnit, Region, User

UNIT_CODE = re.compile(r"[a-z][a-z0-9_]{1,31}")
UNIT_KINDS = ("government", "department", "public_service")
UNIT_ACTIONS = ("unit_created", "unit_updated", "fallback_unit_set")


class UnitInUse(Conflict):
    """A unit that still has open tasks or is a region's fallback unit cannot be deactivated."""

    def __init__(self, open_tasks: int, fallback_for: list[str]):
        super().__init__(f"unit in use: {open_tasks} open tasks, fallback for {fallback_for}")
        self.open_tasks, self.fallback_for = open_tasks, fallback_for


def get_unit(session, unit_id: int) -> OrganizerUnit:
    """Raises NotFound."""
    unit = session.get(OrganizerUnit, unit_id)
    if unit is None:
        raise NotFound(f"unit {unit_id} does not exist")
    return unit


def list_active(session, after_id: int | None = None, limit: int | None = None) -> list[OrganizerUnit]:
    """Active units by id; with `after_id` (keyset paging) only those after it; at most `limit`."""
    query = select(OrganizerUnit).where(OrganizerUnit.active)
    if after_id is not None:
        query = query.where(OrganizerUnit.id > after_id)
    return list(session.scalars(query.order_by(OrganizerUnit.id).limit(limit)))


def region_line(session, region_id: int) -> list[int]:
    """The region and every region above it, nearest first."""
    line, region = [], session.get(Region, region_id)
    while region is not None:
        line.append(region.id)
        region = session.get(Region, region.parent_id) if region.parent_id else None
    return line


def open_task_count(session, unit_id: int) -> int:
    return session.scalar(select(func.count()).select_from(UserTask).where(
        UserTask.unit_id == unit_id, UserTask.state == "open")) or 0


def tree(session) -> list[dict]:
    """Regions from the province down (depth, region, fallback unit, its units as
    (depth, unit, open tasks, users) under their parents)."""
    regions = list(session.scalars(select(Region).order_by(Region.code)))
    units = list(session.scalars(select(OrganizerUnit).order_by(OrganizerUnit.kind != "government",
                                                                OrganizerUnit.code)))
    tasks = dict(session.execute(select(UserTask.unit_id, func.count()).where(UserTask.state == "open")
                                 .group_by(UserTask.unit_id)).all())
    people = dict(session.execute(select(User.unit_id, func.count()).where(User.active)
                                  .group_by(User.unit_id)).all())
    by_id = {u.id: u for u in units}
    rows = []

    def walk_units(region_id, parent_id, depth):
        for unit in units:
            parent_here = unit.parent_id if by_id.get(unit.parent_id) and \
                by_id[unit.parent_id].region_id == region_id else None
            if unit.region_id == region_id and parent_here == parent_id:
                yield {"depth": depth, "unit": unit, "open_tasks": tasks.get(unit.id, 0),
                       "users": people.get(unit.id, 0)}
                yield from walk_units(region_id, unit.id, depth + 1)

    def walk_regions(parent_id, depth):
        for region in regions:
            if region.parent_id == parent_id:
                rows.append({"depth": depth, "region": region, "fallback": by_id.get(region.fallback_unit_id),
                             "units": list(walk_units(region.id, None, 0))})
                walk_regions(region.id, depth + 1)

    walk_regions(None, 0)
    return rows


def _check_unit(session, data: dict, unit: OrganizerUnit | None) -> dict:
    errors = {}
    code = data.get("code") or ""
    if not UNIT_CODE.fullmatch(code):
        errors["code"] = ["单位代码为 2–32 位小写字母、数字或下划线，以字母开头"]
    elif session.scalar(select(OrganizerUnit.id).where(OrganizerUnit.code == code,
                                                       OrganizerUnit.id != (unit.id if unit else -1))):
        errors["code"] = ["该单位代码已被使用"]
    if not 1 <= len(data.get("name") or "") <= 100:
        errors["name"] = ["请填写单位名称（不超过 100 个字符）"]
    elif texts.line_problems(data["name"]):
        errors["name"] = texts.line_problems(data["name"])
    if data.get("kind") not in UNIT_KINDS:
        errors["kind"] = ["请选择单位类型"]
    region = session.get(Region, data["region_id"]) if data.get("region_id") else None
    if region is None:
        errors["region_id"] = ["请选择所属区域"]
    parent_id = data.get("parent_id")
    if parent_id and region is not None:
        parent = session.get(OrganizerUnit, parent_id)
        if parent is None or not parent.active:
            errors["parent_id"] = ["上级单位不存在或已停用"]
        elif unit is not None and unit.id in ancestors(session, parent):
            errors["parent_id"] = ["上级单位不能是本单位或其下级单位"]
        elif parent.region_id not in region_line(session, region.id):
            errors["parent_id"] = ["上级单位须属于本区域或上级区域"]
    if unit is not None and region is not None:
        lost = [r.name for r in session.scalars(select(Region).where(Region.fallback_unit_id == unit.id))
                if region.id not in region_line(session, r.id)]
        if lost:
            errors.setdefault("region_id", []).append("本单位是兜底单位，所属区域须为其兜底区域或上级区域")
    return errors


def ancestors(session, unit: OrganizerUnit) -> set[int]:
    """The unit's id and those of every unit above it."""
    seen = set()
    while unit is not None and unit.id not in seen:
        seen.add(unit.id)
        unit = session.get(OrganizerUnit, unit.parent_id) if unit.parent_id else None
    return seen


def _unit_values(unit: OrganizerUnit) -> dict:
    return {"code": unit.code, "name": unit.name, "kind": unit.kind, "region_id": unit.region_id,
            "parent_id": unit.parent_id, "active": unit.active}


def create_unit(db, data: dict, actor) -> OrganizerUnit:
    """data: code, name, kind, region_id, parent_id. Raises InvalidInput (per field)."""
    with db.transaction() as session:
        errors = _check_unit(session, data, None)
        if errors:
            raise InvalidInput("invalid unit", errors)
        unit = OrganizerUnit(code=data["code"], name=data["name"], kind=data["kind"], region_id=data["region_id"],
                             parent_id=data.get("parent_id") or None, active=True)
        session.add(unit)
        session.flush()
        history.record(session, "unit_created", actor_id=actor.id, detail={"unit_id": unit.id},
                       after=_unit_values(unit))
        return unit


def update_unit(db, unit_id: int, data: dict, actor) -> OrganizerUnit:
    """data: code, name, kind, region_id, parent_id, active.
    Raises NotFound, InvalidInput (per field), UnitInUse (deactivating a unit still in use)."""
    with db.transaction() as session:
        unit = session.scalar(select(OrganizerUnit).where(OrganizerUnit.id == unit_id).with_for_update())
        if unit is None:
            raise NotFound(f"unit {unit_id} does not exist")
        errors = _check_unit(session, data, unit)
        if errors:
            raise InvalidInput("invalid unit", errors)
        if unit.active and not data.get("active"):
            busy = open_task_count(session, unit.id)
            fallback_for = list(session.scalars(select(Region.name).where(Region.fallback_unit_id == unit.id)))
            if busy or fallback_for:
                raise UnitInUse(busy, fallback_for)
        before = _unit_values(unit)
        unit.code, unit.name, unit.kind = data["code"], data["name"], data["kind"]
        unit.region_id, unit.parent_id, unit.active = data["region_id"], data.get("parent_id") or None, \
            bool(data.get("active"))
        after = _unit_values(unit)
        if after != before:
            history.record(session, "unit_updated", actor_id=actor.id, detail={"unit_id": unit.id},
                           before={k: v for k, v in before.items() if after[k] != v},
                           after={k: v for k, v in after.items() if before[k] != v})
        return unit


def set_fallback(db, region_id: int, unit_id: int | None, actor) -> Region:
    """Name the region's fallback unit (None: the nearest region above it decides).
    Raises NotFound, InvalidInput (unit_id)."""
    with db.transaction() as session:
        region = session.scalar(select(Region).where(Region.id == region_id).with_for_update())
        if region is None:
            raise NotFound(f"region {region_id} does not exist")
        unit = session.get(OrganizerUnit, unit_id) if unit_id else None
        if unit_id and (unit is None or not unit.active):
            raise InvalidInput("inactive unit", {"unit_id": ["兜底单位必须是在用的单位"]})
        if unit is not None and unit.region_id not in region_line(session, region.id):
            raise InvalidInput("unit outside the region", {"unit_id": ["兜底单位须属于本区域或上级区域"]})
        if unit is None and region.parent_id is None:
            raise InvalidInput("top region needs one", {"unit_id": ["省级区域必须指定兜底单位"]})
        before = region.fallback_unit_id
        region.fallback_unit_id = unit.id if unit else None
        if before != region.fallback_unit_id:
            history.record(session, "fallback_unit_set", actor_id=actor.id,
                           detail={"region_id": region.id, "region": region.name},
                           before={"unit_id": before}, after={"unit_id": region.fallback_unit_id})
        return region
