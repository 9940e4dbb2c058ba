"""The demo loader drives its open appeals by the forms it knows, so `hotline load-demo` survives an
analyst's change: a step it does not know leaves the appeal waiting there."""
from sqlalchemy import select

from hotline import demo
from hotline.models import Appeal
from runtime import repository
from runtime.models import UserTask

from ..conftest import redeploy_repository


def _statuses(db, appeals):
    with db.read() as session:
        return [session.get(Appeal, a.id).status for a in appeals]


def _centres(db, appeals):
    with db.read() as session:
        rows = [session.get(Appeal, a.id) for a in appeals]
        return [(a.origin_centre.code, a.centre.code) for a in rows]


def test_the_demo_appeals_reach_the_steps_they_are_meant_for(db):
    appeals = demo.drive_open_appeals(db)
    assert _statuses(db, appeals) == ["assessing", "dispatching", "signing", "handling", "reviewing",
                                      # between centres: pushed up, coordinated by the province, sent back;
                                      # a county's and a city's own
                                      "transferring", "signing", "dispatching", "assessing", "handling",
                                      # second-level dispatch: the street office handles it for 鼓楼区人民政府
                                      "handling"]
    assert _centres(db, appeals)[5:10] == [("tj", "fj"), ("fz", "fj"), ("sm", "sm"), ("hl", "hl"), ("xm", "xm")]
    with db.read() as session:
        waiting = session.scalars(select(UserTask.bpmn_id).where(UserTask.business_key == appeals[10].id,
                                                                 UserTask.state == "open")).all()
    assert "ut_sub_reply" in waiting  # the street office signed for it and handles it


def test_a_step_whose_form_the_diagram_no_longer_uses_leaves_the_appeal_waiting_there(db):
    files = repository.read_bundle()
    renamed = {**files,
               "appeal_handling.bpmn": files["appeal_handling.bpmn"].replace("sign_for.schema.json",
                                                                              "sign_for_v2.schema.json"),
               "forms/sign_for_v2.schema.json": files["forms/sign_for.schema.json"]}
    try:
        repository.deploy_bundle(db, renamed, deployed_by="analyst1")
        appeals = demo.drive_open_appeals(db)  # no exception: the loader does not fail
    finally:
        redeploy_repository(db)
    # the two appeals meant to be signed for and beyond wait to be signed for
    assert _statuses(db, appeals)[:5] == ["assessing", "dispatching", "signing", "signing", "signing"]
