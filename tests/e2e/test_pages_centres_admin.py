"""An administrator sets up the network's centres (issue 16 item 1): a new county centre for 鼓楼区
under 福州市, with its rules (one centre per region, an upper centre whose region holds it, one
provincial centre), in history; appeals of its region then belong to it."""
from sqlalchemy import select

from hotline import appeals
from hotline.models import Centre, Region, User


def _ids(db):
    with db.read() as session:
        centres = dict(session.execute(select(Centre.code, Centre.id)).all())
        regions = dict(session.execute(select(Region.code, Region.id)).all())
    return centres, regions


def test_an_administrator_adds_a_county_centre_and_its_region_follows(browser_as, db):
    centres, regions = _ids(db)
    admin = browser_as("admin")
    listed = admin.get("/admin/centres").get_data(as_text=True)
    assert "台江区12345热线" in listed and "福建省12345热线" in listed

    form = {"code": "gl", "name": "鼓楼区12345热线", "name_en": "Gulou 12345 Hotline", "level": "county",
            "region_id": regions["350102"], "parent_id": centres["fz"]}
    for wrong, field, message in [({"region_id": regions["350103"]}, "region_id", "该区域已有热线中心"),
                                  ({"parent_id": ""}, "parent_id", "市级和县级中心须选择上级中心"),
                                  ({"parent_id": centres["xm"]}, "parent_id", "上级中心的区域须包含本中心的区域"),
                                  ({"level": "province", "parent_id": ""}, "level", "全省只有一个省级中心"),
                                  ({"code": "Gulou!"}, "code", "中心代码为"),
                                  ({"code": "tj"}, "code", "该中心代码已被使用")]:
        resp = admin.post("/admin/centres/new", data={**form, **wrong})
        assert resp.status_code == 400, field
        assert message in resp.get_data(as_text=True), field
    resp = admin.post("/admin/centres/new", data=form)
    assert resp.status_code == 302
    with db.read() as session:
        made = session.scalar(select(Centre).where(Centre.code == "gl"))
        assert (made.level, made.parent_id, made.name_en) == ("county", centres["fz"], "Gulou 12345 Hotline")
        agent = session.scalar(select(User).where(User.username == "intake1"))
        portal_user = session.scalar(select(User).where(User.username == "fz_intake"))
    listed = admin.get("/admin/centres").get_data(as_text=True)
    assert "鼓楼区12345热线" in listed and listed.count("新建热线中心") >= 2  # the button, and the change in history

    edited = admin.post(f"/admin/centres/{made.id}", data={**form, "name": "鼓楼区便民服务热线"})
    assert edited.status_code == 302
    page = admin.get(f"/admin/centres/{made.id}").get_data(as_text=True)
    assert "鼓楼区便民服务热线" in page and "修改热线中心" in page

    # an appeal of 鼓楼区 without an agent (the portal, Open311) now belongs to the new centre;
    # a call keeps the centre of the agent who took it
    data = {"channel": "web", "appeal_type": "complaint", "title": "测试", "content": "测试内容",
            "region_code": "350102", "appellant": {"kind": "citizen", "phone": "13800001111"}}
    filed = appeals.register(db, data, None)
    called = appeals.register(db, {**data, "channel": "phone"}, agent)
    by_fz = appeals.register(db, {**data, "channel": "phone"}, portal_user)
    assert (filed.centre_id, called.centre_id, by_fz.centre_id) == (made.id, centres["fj"], centres["fz"])


def test_only_the_administrator_manages_centres(browser_as):
    for username in ("owner1", "dispatcher1", "fz_owner"):
        assert browser_as(username).get("/admin/centres").status_code == 403
    assert browser_as("admin").get("/admin/centres/999999").status_code == 404


def test_the_centre_pages_speak_english(browser_as):
    admin = browser_as("admin")
    admin.get("/lang/en")
    page = admin.get("/admin/centres").get_data(as_text=True)
    assert "Hotline centres" in page and "Fuzhou 12345 Hotline" in page and "County (district) centre" in page
