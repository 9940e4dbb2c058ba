"""Demo data: a province, two cities, districts, organizer units with staff and leaders,
platform staff and an administrator. Every demo login uses the password DEMO_PASSWORD."""
from sqlalchemy import select

from . import users
from .models import OrganizerUnit, Region, User

DEMO_PASSWORD = "demo12345"

REGIONS = [  # code, name, level, parent code
    ("350000", "福建省", "province", None),
    ("350100", "福州市", "city", "350000"),
    ("350102", "鼓楼区", "district", "350100"),
    ("350103", "台江区", "district", "350100"),
    ("350200", "厦门市", "city", "350000"),
    ("350203", "思明区", "district", "350200"),
    ("350206", "湖里区", "district", "350200"),
]

UNITS = [  # code, name, kind, region code, parent code, fallback for its region
    ("fj_gov", "福建省人民政府办公厅", "government", "350000", None, True),
    ("fz_gov", "福州市人民政府", "government", "350100", None, True),
    ("fz_housing", "福州市住房和城乡建设局", "department", "350100", "fz_gov", False),
    ("fz_market", "福州市市场监督管理局", "department", "350100", "fz_gov", False),
    ("fz_transport", "福州市交通运输局", "department", "350100", "fz_gov", False),
    ("gl_gov", "鼓楼区人民政府", "government", "350102", "fz_gov", True),
    ("gl_urban", "鼓楼区城市管理局", "department", "350102", "gl_gov", False),
    ("tj_gov", "台江区人民政府", "government", "350103", "fz_gov", True),
    ("xm_gov", "厦门市人民政府", "government", "350200", None, True),
    ("xm_env", "厦门市生态环境局", "department", "350200", "xm_gov", False),
    ("sm_gov", "思明区人民政府", "government", "350203", "xm_gov", True),
    ("sm_market", "思明区市场监督管理局", "department", "350203", "sm_gov", False),
]

PLATFORM_USERS = [  # username, display name, role
    ("intake1", "受理员 林晓", "intake_agent"),
    ("intake2", "受理员 陈静", "intake_agent"),
    ("dispatcher1", "派单员 王强", "dispatcher"),
    ("revisit1", "回访员 郑敏", "return_visit_staff"),
    ("supervisor1", "督办员 黄海", "supervisor"),
    ("owner1", "流程负责人 吴刚", "process_owner"),
    ("analyst1", "业务分析员 刘洋", "analyst"),
    ("admin", "系统管理员", "admin"),
]


def load(session) -> dict:
    """Insert the demo data if it is not there yet; returns what was created, by kind."""
    if session.scalar(select(Region).where(Region.code == "350000")):
        return {"regions": 0, "units": 0, "users": 0}
    regions = {}
    for code, name, level, parent in REGIONS:
        regions[code] = Region(code=code, name=name, level=level,
                               parent_id=regions[parent].id if parent else None)
        session.add(regions[code])
        session.flush()
    units = {}
    for code, name, kind, region, parent, fallback in UNITS:
        units[code] = OrganizerUnit(code=code, name=name, kind=kind, region_id=regions[region].id,
                                    parent_id=units[parent].id if parent else None)
        session.add(units[code])
        session.flush()
        if fallback:
            regions[region].fallback_unit_id = units[code].id
    password = users.hash_password(DEMO_PASSWORD)
    people = [User(username=u, display_name=n, role=r, password_hash=password) for u, n, r in PLATFORM_USERS]
    for code, unit in units.items():
        people.append(User(username=f"{code}_staff", display_name=f"{unit.name} 承办人",
                           role="organizer_staff", unit_id=unit.id, password_hash=password))
        people.append(User(username=f"{code}_leader", display_name=f"{unit.name} 负责人",
                           role="organizer_leader", unit_id=unit.id, password_hash=password))
    session.add_all(people)
    session.flush()
    return {"regions": len(regions), "units": len(units), "users": len(people)}
