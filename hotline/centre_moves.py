"""Moving an appeal between centres (Art. 8(5), 9(4)), as the diagram draws it: at 派单 a city or
county dispatcher pushes a matter of a provincial unit up to the provincial centre (`escalate`), or
sends a matter spanning regions to the common upper centre for coordination (`coordinate`); the
receiving centre's dispatcher accepts it (and then dispatches it, naming the lead and the
co-organizers) or sends it back with reasons. These operators only move the appeal and say so
in history and in the receiving centre's inbox; which step follows is the diagram's.

The deadlines are not touched: the dispatch limit keeps running from the original acceptance.
"""
from sqlalchemy import select

from runtime.errors import InvalidInput

from . import centres
from .models import Centre, Region

ACTIONS = ("escalate", "coordinate")


def target(session, centre_id: int, action: str, related_region_codes=None) -> Centre:
    """The centre an appeal held by `centre_id` moves to. Raises InvalidInput (with the form's
    field) when there is none: the provincial centre has no upper centre, a region is unknown,
    or the regions named are all this centre's own."""
    if action == "escalate":  # Art. 9(4): matters of provincial units go up to the provincial centre
        top = centres.province(session)
        if top is None or top.id == centre_id:
            raise InvalidInput("the provincial centre has no upper centre",
                               {"dispatch_action": ["省级中心没有上级中心，请直接派单"]})
        return top
    codes = [c for c in (related_region_codes or []) if c]
    if not codes:
        raise InvalidInput("name the other regions", {"related_region_codes": ["请填写涉及的其他地区"]})
    regions = dict(session.execute(select(Region.code, Region.id).where(Region.code.in_(codes))).all())
    unknown = [c for c in codes if c not in regions]
    if unknown:
        raise InvalidInput("unknown region", {"related_region_codes": [f"行政区划代码不存在：{'、'.join(unknown)}"]})
    others = {centres.covering(session, regions[c]).id for c in codes}
    common = centres.common_upper(session, [centre_id, *others])
    if common.id == centre_id:
        raise InvalidInput("this centre coordinates these regions itself",
                           {"related_region_codes": ["这些地区均在本中心辖区内，请直接派单并指定牵头和协办单位"]})
    return common


def transfer_to_centre(ctx, appeal_id, action, reason, related_region_codes=None):
    """Move the appeal to the centre above or to the common upper centre; returns its id."""
    if action not in ACTIONS:
        raise InvalidInput("unknown action", {"dispatch_action": ["请选择派单、上报或申请协调"]})
    appeal = ctx.appeal
    source = ctx.session.get(Centre, appeal.centre_id)
    to = target(ctx.session, appeal.centre_id, action, related_region_codes)
    appeal.centre_id = to.id
    ctx.record("centre_transferred", kind=action, reason=reason, from_centre=source.name, to_centre=to.name,
               from_centre_id=source.id, to_centre_id=to.id, related_region_codes=list(related_region_codes or []))
    what = "上报" if action == "escalate" else "申请协调"
    ctx.notify("in_app", f"centre:{to.id}", f"{source.name}{what}诉求 {appeal.number}：{appeal.title}。理由：{reason}")
    return to.id


def settle_transfer(ctx, appeal_id, accepted, centre_id, from_centre_id, reason=None):
    """The receiving centre accepted the appeal (it stays there) or sent it back with reasons
    (it returns to `from_centre_id`); returns the centre that holds it now, `centre_id` when
    accepted."""
    appeal = ctx.appeal
    holder = ctx.session.get(Centre, appeal.centre_id)
    if accepted:
        ctx.record("centre_transfer_accepted", centre=holder.name, centre_id=holder.id)
        return appeal.centre_id
    back = ctx.session.get(Centre, from_centre_id)
    appeal.centre_id = back.id
    ctx.record("centre_transfer_sent_back", reason=reason, from_centre=holder.name, to_centre=back.name,
               from_centre_id=holder.id, to_centre_id=back.id)
    ctx.notify("in_app", f"centre:{back.id}", f"{holder.name}退回诉求 {appeal.number}：{reason}")
    return back.id


ALL = (transfer_to_centre, settle_transfer)
