"""Centres (Art. 3, 8, 9): the provincial centre and the city and county centres under it.

An appeal belongs to the centre that accepted it: the centre of the agent who took the call (the
number dialled reaches that centre's agents), and for the portal and Open311, which have no
agent, the deepest centre whose region contains the appeal's region (the provincial centre when
no region is given). The centre that holds an appeal owns its platform tasks: the diagrams scope
each platform task to `centre_id` in the process data (`scopeVariable`), and only that centre's
staff may work it. The provincial centre reads every centre's appeals; a city or county reads the
ones it holds and the ones it accepted and moved on.
"""
import re

from sqlalchemy import func, or_, select

from runtime import history
from runtime.errors import InvalidInput, NotFound

from .models import Appeal, Centre, OrganizerUnit, Region, User

LEVELS = ("province", "city", "county")


def all_(session) -> list[Centre]:
    """Every centre, provincial first, then by region code."""
    rows = session.execute(select(Centre, Region.code).join(Region, Region.id == Centre.region_id)).all()
    return [c for c, _ in sorted(rows, key=lambda r: (LEVELS.index(r[0].level), r[1]))]


def province(session) -> Centre | None:
    return session.scalar(select(Centre).where(Centre.parent_id.is_(None)).order_by(Centre.id).limit(1))


def covering(session, region_id: int | None) -> Centre | None:
    """The deepest centre whose region is `region_id` or one of its ancestors; the provincial
    centre when the region is unknown or none of its ancestors has a centre."""
    by_region = {c.region_id: c for c in session.scalars(select(Centre))}
    seen = set()
    while region_id is not None and region_id not in seen:
        if region_id in by_region:
            return by_region[region_id]
        seen.add(region_id)
        region_id = session.scalar(select(Region.parent_id).where(Region.id == region_id))
    return province(session)


def accepting(session, actor, region_id: int | None) -> int | None:
    """The id of the centre an appeal registered by `actor` belongs to (see the module
    docstring); None in an installation without centres."""
    centre_id = getattr(actor, "centre_id", None)
    if centre_id is not None:
        return centre_id
    centre = covering(session, region_id)
    return centre.id if centre else None


def sees_all(session, user) -> bool:
    """Whether the user reads every centre's appeals: the provincial centre's staff, and platform
    staff of a single-centre installation (no centre assigned)."""
    if user.centre_id is None:
        return True
    return session.scalar(select(Centre.parent_id).where(Centre.id == user.centre_id)) is None


def appeal_condition(session, user):
    """SQL condition on Appeal for the appeals a platform user of a city or county centre reads
    (None: every appeal)."""
    if sees_all(session, user):
        return None
    return or_(Appeal.centre_id == user.centre_id, Appeal.origin_centre_id == user.centre_id)


def may_read(session, user, appeal: Appeal) -> bool:
    return sees_all(session, user) or user.centre_id in (appeal.centre_id, appeal.origin_centre_id)


def upper(session, centre_id: int) -> Centre:
    """The centre above; raises InvalidInput for the provincial centre."""
    parent = session.scalar(select(Centre.parent_id).where(Centre.id == centre_id))
    if parent is None:
        raise InvalidInput("the provincial centre has no upper centre", {"centre": ["省级中心没有上级中心"]})
    return session.get(Centre, parent)


def common_upper(session, centre_ids) -> Centre:
    """The nearest centre above or equal to every one of `centre_ids` (Art. 8(5): a matter
    spanning regions is coordinated by their common upper centre)."""
    parents = dict(session.execute(select(Centre.id, Centre.parent_id)).all())

    def chain(c):
        out = []
        while c is not None:
            out.append(c)
            c = parents.get(c)
        return out

    chains = [chain(c) for c in centre_ids]
    common = set(chains[0]).intersection(*map(set, chains[1:]))
    return session.get(Centre, next(c for c in chains[0] if c in common))


def of_unit(session, unit) -> Centre | None:
    """The centre whose region holds the unit (the centre that dispatches to it)."""
    return covering(session, unit.region_id)


def covers(session, centre: Centre, region_id: int | None) -> bool:
    """Whether `region_id` is the centre's region or lies under it."""
    seen = set()
    while region_id is not None and region_id not in seen:
        if region_id == centre.region_id:
            return True
        seen.add(region_id)
        region_id = session.scalar(select(Region.parent_id).where(Region.id == region_id))
    return False


def outside_units(session, centre_id: int | None, unit_ids) -> list:
    """The units among `unit_ids` a city or county centre may not dispatch to: those outside
    its region (a matter of a provincial or another region's unit is pushed up, Art. 9(4)).
    The provincial centre dispatches anywhere."""
    centre = session.get(Centre, centre_id) if centre_id else None
    if centre is None or centre.parent_id is None:
        return []
    return [u for u in (session.get(OrganizerUnit, i) for i in unit_ids if i is not None)
            if u is not None and not covers(session, centre, u.region_id)]


# -- administration: the network's centres (an administrator's) ------------------------------

CENTRE_ACTIONS = ("centre_created", "centre_updated")
CODE = re.compile(r"[a-z][a-z0-9_]{0,31}")


def _values(centre: Centre) -> dict:
    return {"code": centre.code, "name": centre.name, "name_en": centre.name_en, "level": centre.level,
            "region_id": centre.region_id, "parent_id": centre.parent_id}


def _check(session, data: dict, centre: Centre | None) -> dict:
    errors = {}
    own = centre.id if centre else -1
    if not CODE.fullmatch(data.get("code") or ""):
        errors["code"] = ["中心代码为 1–32 位小写字母、数字或下划线，以字母开头"]
    elif session.scalar(select(Centre.id).where(Centre.code == data["code"], Centre.id != own)):
        errors["code"] = ["该中心代码已被使用"]
    if not 1 <= len(data.get("name") or "") <= 100:
        errors["name"] = ["请填写中心名称（不超过 100 个字符）"]
    if len(data.get("name_en") or "") > 100:
        errors["name_en"] = ["英文名称不超过 100 个字符"]
    level = data.get("level")
    if level not in LEVELS:
        errors["level"] = ["请选择层级"]
    region = session.get(Region, data["region_id"]) if data.get("region_id") else None
    if region is None:
        errors["region_id"] = ["请选择所属区域"]
    elif session.scalar(select(Centre.id).where(Centre.region_id == region.id, Centre.id != own)):
        errors["region_id"] = ["该区域已有热线中心"]
    parent = session.get(Centre, data["parent_id"]) if data.get("parent_id") else None
    if level == "province":
        if data.get("parent_id"):
            errors["parent_id"] = ["省级中心没有上级中心"]
        elif session.scalar(select(Centre.id).where(Centre.parent_id.is_(None), Centre.id != own)):
            errors["level"] = ["全省只有一个省级中心"]
    elif level in LEVELS:
        if parent is None:
            errors["parent_id"] = ["市级和县级中心须选择上级中心"]
        elif centre is not None and parent.id in _below(session, centre.id):
            errors["parent_id"] = ["上级中心不能是本中心或其下级中心"]
        elif region is not None and (parent.region_id == region.id or not covers(session, parent, region.id)):
            errors["parent_id"] = ["上级中心的区域须包含本中心的区域"]
    if centre is not None and centre.parent_id is None and level != "province" and \
            session.scalar(select(Centre.id).where(Centre.parent_id == centre.id).limit(1)):
        errors.setdefault("level", []).append("省级中心之下已有中心，不能改为其他层级")
    return errors


def _below(session, centre_id: int) -> set[int]:
    """The centre's id and those of every centre under it."""
    children: dict[int | None, list[int]] = {}
    for cid, parent in session.execute(select(Centre.id, Centre.parent_id)).all():
        children.setdefault(parent, []).append(cid)
    found, todo = set(), [centre_id]
    while todo:
        c = todo.pop()
        if c not in found:
            found.add(c)
            todo += children.get(c, [])
    return found


def save(db, centre_id: int | None, data: dict, actor) -> Centre:
    """Create (`centre_id` None) or change a centre: data code, name, name_en, level, region_id,
    parent_id. One transaction with its history. Raises NotFound, InvalidInput (per field)."""
    with db.transaction() as session:
        centre = None
        if centre_id is not None:
            centre = session.scalar(select(Centre).where(Centre.id == centre_id).with_for_update())
            if centre is None:
                raise NotFound(f"centre {centre_id} does not exist")
        errors = _check(session, data, centre)
        if errors:
            raise InvalidInput("invalid centre", errors)
        before = _values(centre) if centre else None
        centre = centre or Centre()
        centre.code, centre.name, centre.name_en = data["code"], data["name"], data.get("name_en") or None
        centre.level, centre.region_id = data["level"], data["region_id"]
        centre.parent_id = None if data["level"] == "province" else data["parent_id"]
        session.add(centre)
        session.flush()
        after = _values(centre)
        if before is None:
            history.record(session, "centre_created", actor_id=actor.id, detail={"centre_id": centre.id}, after=after)
        elif after != before:
            history.record(session, "centre_updated", actor_id=actor.id, detail={"centre_id": centre.id},
                           before={k: v for k, v in before.items() if after[k] != v},
                           after={k: v for k, v in after.items() if before[k] != v})
        return centre


def staff_counts(session) -> dict[int, int]:
    """Active platform users per centre."""
    return dict(session.execute(select(User.centre_id, func.count()).where(User.active, User.centre_id.is_not(None))
                                .group_by(User.centre_id)).all())
