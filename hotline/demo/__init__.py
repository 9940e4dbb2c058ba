"""Demo data: a province, two cities, districts, organizer units with staff and leaders,
platform staff and an administrator. Every demo login uses the password DEMO_PASSWORD."""
import logging

from sqlalchemy import select, update

from runtime import clock, tasks
from runtime.errors import Conflict, EngineError, InvalidInput
from runtime.models import UserTask

from .. import accounts, appeals, evaluation, knowledge, publication
from ..models import Centre, KnowledgeArticle, OrganizerUnit, Region, User
from . import archive

log = logging.getLogger("hotline.demo")

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
    ("gl_street_wys", "鼓楼区五一街道办事处", "government", "350102", "gl_gov", False),  # 二级派单 (issue 16)
]

CENTRES = [  # code, name, English name, level, region code, parent code (Art. 3, 8, 9)
    ("fj", "福建省12345热线", "Fujian 12345 Hotline", "province", "350000", None),
    ("fz", "福州市12345热线", "Fuzhou 12345 Hotline", "city", "350100", "fj"),
    ("xm", "厦门市12345热线", "Xiamen 12345 Hotline", "city", "350200", "fj"),
    ("tj", "台江区12345热线", "Taijiang 12345 Hotline", "county", "350103", "fz"),
    ("sm", "思明区12345热线", "Siming 12345 Hotline", "county", "350203", "xm"),
    ("hl", "湖里区12345热线", "Huli 12345 Hotline", "county", "350206", "xm"),
]
# the platform staff of each city and county centre (the provincial centre's are PLATFORM_USERS):
# username suffix, display name, role; cities have all of them, counties the first three
CENTRE_STAFF = [("intake", "受理员", "intake_agent"), ("dispatcher", "派单员", "dispatcher"),
                ("revisit", "回访员", "return_visit_staff"), ("supervisor", "督办员", "supervisor"),
                ("owner", "流程负责人", "process_owner")]
# Art. 26, 27: those who watch from outside (the provincial centre's)
OUTSIDE_USERS = [("civil1", "省文明办 联络员", "civilization_office"), ("observer1", "特约监督员 周明", "observer")]

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


def load(db) -> dict:
    """Insert the demo data if it is not there yet, in one transaction; returns what was created,
    by kind. Then the demo month is published province-wide by the provincial process owner, so
    the civilization office and observers have a published period to read (Art. 26, 27)."""
    with db.transaction() as session:
        created = _load(session)
        owner = session.scalar(select(User).where(User.username == "owner1"))
        if owner is not None:
            session.expunge(owner)
    created["publications"] = _publish_demo_month(db, owner) if owner is not None else 0
    return created


def _publish_demo_month(db, owner) -> int:
    config = evaluation.load_config()
    period = evaluation.default_period(clock.now(), config.window_start_day)
    try:
        publication.publish(db, period.key, None, owner)
    except (Conflict, InvalidInput):  # published already, or the month has not ended
        return 0
    return 1


def _load(session) -> dict:
    if session.scalar(select(Region).where(Region.code == "350000")):
        return {"regions": 0, "units": 0, "users": 0, "centres": _centres(session), "articles": _articles(session)}
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
    password = accounts.hash_password(DEMO_PASSWORD)
    people = [User(username=u, display_name=n, role=r, password_hash=password) for u, n, r in PLATFORM_USERS]
    for code, unit in units.items():
        people.append(User(username=f"{code}_staff", display_name=f"{unit.name} 承办人",
                           role="organizer_staff", unit_id=unit.id, password_hash=password))
        people.append(User(username=f"{code}_leader", display_name=f"{unit.name} 负责人",
                           role="organizer_leader", unit_id=unit.id, password_hash=password))
    session.add_all(people)
    session.flush()
    centres = _centres(session)
    articles = _articles(session)
    return {"regions": len(regions), "units": len(units), "users": len(people), "centres": centres, "articles": articles,
            "demo_appeals": archive.load(session)}


def _centres(session) -> int:
    """The demo centres and their staff, once (also into a database whose demo data predates
    centres: its province-level centre, made by the migration, is kept); the provincial centre's
    staff are the platform users without a centre."""
    regions = dict(session.execute(select(Region.code, Region.id)).all())
    existing = {c.region_id: c for c in session.scalars(select(Centre))}
    if len(existing) > 1:
        return 0
    password = accounts.hash_password(DEMO_PASSWORD)
    made = {}
    for code, name, name_en, level, region, parent in CENTRES:
        centre = existing.get(regions[region]) or Centre(code=code, region_id=regions[region])
        centre.code, centre.name, centre.name_en, centre.level = code, name, name_en, level
        centre.parent_id = made[parent].id if parent else None
        session.add(centre)
        session.flush()
        made[code] = centre
        if parent is None:
            session.execute(update(User).where(User.unit_id.is_(None), User.centre_id.is_(None), User.role.in_(
                [r for _, _, r in CENTRE_STAFF])).values(centre_id=centre.id))
            session.add_all(User(username=u, display_name=n, role=r, centre_id=centre.id, password_hash=password)
                            for u, n, r in OUTSIDE_USERS)
            continue
        staff = CENTRE_STAFF if level == "city" else CENTRE_STAFF[:3]
        session.add_all(User(username=f"{code}_{suffix}", display_name=f"{name.removesuffix('12345热线')} {label}",
                             role=role, centre_id=centre.id, password_hash=password) for suffix, label, role in staff)
    session.flush()
    return len(made)


ARTICLES = [  # unit code (None: the platform's own), category, title, body
    (None, "社会保障", "社会保障卡遗失补办",
     ("社会保障卡（社保卡）遗失后，请先挂失，再申请补办。\n"
     "一、挂失：拨打 12333 人社服务热线、登录“闽政通”App 或到发卡银行网点办理临时挂失；正式挂失须本人持身份证到银行网点办理。\n"
     "二、补办：本人持有效身份证件到社保卡服务网点或合作银行网点申请，现场制卡的网点可立等可取，其余一般 15 个工作日内制卡完成。\n"
     "三、费用：补办工本费按现行规定收取，部分情形可减免，以网点告知为准。\n"
     "四、代办：委托他人代办的，须提供双方身份证件及委托书。")),
    ("fz_housing", "住房保障", "住房公积金提取条件与办理流程",
     ("职工符合下列情形之一的，可以申请提取本人住房公积金账户余额：购买、建造、翻建、大修自住住房；偿还购房贷款本息；"
     "租房自住且无自有住房；离休、退休；完全丧失劳动能力并与单位终止劳动关系；出境定居等。\n"
     "办理渠道：“闽政通”App、福州住房公积金网上服务大厅或各管理部服务窗口。\n"
     "所需材料：本人身份证件、本人银行卡，以及与提取情形对应的证明材料（如购房合同、不动产权证书、租赁备案证明等）。\n"
     "办理时限：材料齐全的，一般 3 个工作日内到账。咨询电话：12329。")),
    (None, "户籍证件", "居住证申领条件和材料",
     ("在居住地居住半年以上，且符合有合法稳定就业、合法稳定住所、连续就读条件之一的，可以申领居住证。\n"
     "申领流程：先到居住地派出所或社区警务室办理居住登记，满半年后申领居住证。\n"
     "所需材料：本人居民身份证、近期免冠照片（现场采集）、居住地住址证明（租赁合同、房产证明或单位住宿证明等），"
     "以及就业、就读证明之一。\n"
     "办理时限：受理之日起 15 日内发证。居住证每年签注一次，逾期未签注的暂停使用。")),
    ("gl_urban", "城市管理", "噪音投诉处理流程",
     ("夜间（22 时至次日 6 时）工地施工噪音扰民：未取得夜间施工许可的，由城市管理综合执法部门依法查处；取得许可的应公示许可内容。\n"
     "社会生活噪音（商铺音响、广场舞等）：由属地街道、城管部门劝导整改；情节严重的依法处罚。\n"
     "邻里噪音：建议先由物业或社区调解，必要时可拨打 110 由公安机关处理。\n"
     "工业企业噪音：由生态环境部门处理。\n"
     "受理时请记录噪音来源、具体地址、时间段和持续情况，便于执法人员现场核查。")),
    ("fz_gov", "公用事业", "燃气报修与燃气泄漏应急处置",
     ("发现燃气泄漏：立即关闭燃气总阀，打开门窗通风，不要开关电器、不要使用明火和手机，迅速离开现场后拨打燃气企业 24 小时抢修电话或 119。\n"
     "一般报修（灶具打不着火、表具故障、管道老化等）：拨打所属燃气公司客服电话预约上门，维修人员一般 24 小时内联系用户。\n"
     "燃气泄漏危及人身财产安全，请先确保人员撤离并拨打 119，12345 将按紧急事项立即派单并电话通知燃气企业。")),
    (None, "户籍证件", "户籍迁移（市内迁移、投靠、落户）办理指南",
     ("市内户口迁移：持迁入地住房证明（不动产权证书或购房合同）和户口簿，到迁入地派出所申请，符合条件的当场办结。\n"
     "投靠落户：夫妻投靠、子女投靠父母、父母投靠子女的，提供关系证明材料及迁入地住所证明。\n"
     "跨省迁移：已实行“跨省通办”，可直接在迁入地派出所申请，无需回迁出地开具准迁证。\n"
     "咨询：迁入地派出所户籍窗口，或拨打当地公安机关户政咨询电话。")),
    ("fz_market", "市场监管", "消费投诉和举报的受理范围",
     ("消费者与经营者发生消费纠纷的，可向经营者所在地市场监督管理部门投诉，也可拨打 12315 或登录全国12315平台提交。\n"
     "投诉时请提供：经营者名称和地址、购买凭证（发票、小票、聊天记录、转账记录）、商品或服务存在问题的证据、具体诉求。\n"
     "市场监管部门自收到投诉之日起 7 个工作日内决定是否受理，受理后组织调解；调解不成的，可依法申请仲裁或提起诉讼。\n"
     "预付卡（健身房、美容美发）跑路、食品安全问题可同时举报，举报查实的可按规定给予奖励。")),
    ("fz_transport", "交通出行", "出租车、网约车投诉及遗失物品查找",
     ("乘客对出租车、网约车的服务（拒载、绕路、议价、不打表等）不满意的，请提供车牌号、乘车时间、上下车地点和发票或行程单，由交通运输部门核查处理，一般 10 个工作日内答复。\n"
     "物品遗失在车上：出租车请提供发票上的车号联系所属公司；网约车请通过平台 App 联系司机或客服。\n"
     "交通运输服务监督电话：12328。")),
    ("xm_env", "生态环境", "环境污染（油烟、异味、污水）投诉的办理",
     ("餐饮油烟扰民：居民楼内新建产生油烟的餐饮项目属违法行为，由城市管理或生态环境部门依职责查处。\n"
     "工业企业废气、异味、污水直排：由生态环境部门现场执法检查，必要时采样监测。\n"
     "投诉时请说明污染源位置、排放时段、污染表现（颜色、气味）并尽量提供照片或视频。\n"
     "生态环境举报热线 12369 与 12345 已实现数据共享。")),
    ("sm_market", "市场监管", "个体工商户登记（开店）办理指南",
     ("开办个体工商户可通过“闽政通”App 或“福建省市场主体登记全程电子化平台”网上申请，也可到辖区市场监管所窗口办理。\n"
     "所需材料：经营者身份证件、经营场所使用证明（租赁合同或房产证明）、个体工商户登记申请书。\n"
     "材料齐全、符合法定形式的，当场或 1 个工作日内核发营业执照，不收取费用。\n"
     "从事食品经营的，还应申请食品经营许可证。")),
]


# written for the agents (how to take the call), so not on the public portal's FAQ
INTERNAL_ARTICLES = {"噪音投诉处理流程", "环境污染（油烟、异味、污水）投诉的办理"}

CATEGORIES_EN = {"社会保障": "Social security", "住房保障": "Housing", "户籍证件": "Household registration and IDs",
                 "城市管理": "City management", "公用事业": "Public utilities", "市场监管": "Market regulation",
                 "交通出行": "Transport", "生态环境": "Environment"}


def _articles(session) -> int:
    """Demo knowledge articles, loaded once (when the knowledge base is empty)."""
    if session.scalar(select(KnowledgeArticle.id).limit(1)) is not None:
        return 0
    units = dict(session.execute(select(OrganizerUnit.code, OrganizerUnit.id)).all())
    for code, category, title, body in ARTICLES:
        article = KnowledgeArticle(unit_id=units.get(code) if code else None, category=category,
                                   category_en=CATEGORIES_EN.get(category), title=title, body=body,
                                   public=title not in INTERNAL_ARTICLES, updated_at=clock.now())
        session.add(article)
        session.flush()
        knowledge.reindex(session, article)
    return len(ARTICLES)


# Open appeals for the demo, each left at a different step, so every inbox and the monitor
# have something in them. They go through the real engine (register, then complete tasks), each
# step named by the form it fills: a step whose form the deployed diagram no longer has open
# leaves the appeal waiting where it is, so an analyst's change never breaks loading the demo.
ASSESS = ("intake1", "assess_appeal.schema.json", {"assessment": "dispatch"})
OPEN_APPEALS = [
    ({"appeal_type": "consultation", "title": "新生儿医保如何办理", "content": "孩子刚出生，想咨询医保参保需要哪些材料。",
      "region_code": "350103"}, []),
    ({"appeal_type": "complaint", "title": "小区垃圾清运不及时", "content": "鼓楼区某小区垃圾桶满溢三天无人清运，气味很大。"},
     [ASSESS]),
    ({"appeal_type": "complaint", "title": "夜间工地施工噪音", "content": "五四路工地每晚十一点后仍在施工，影响休息。"},
     [ASSESS, ("dispatcher1", "dispatch.schema.json", {"lead_unit_id": "gl_urban"})]),
    ({"appeal_type": "help", "title": "独居老人家中漏水求助", "content": "楼上漏水，独居老人无法自行处理，请求帮助联系维修。"},
     [ASSESS, ("dispatcher1", "dispatch.schema.json", {"lead_unit_id": "gl_urban"}),
      ("gl_urban_staff", "sign_for.schema.json", {"sign_decision": "sign"})]),
    ({"appeal_type": "suggestion", "title": "建议增设公交站点", "content": "建议在湖里区某路口增设公交站点，方便居民出行。",
      "region_code": "350206"},
     [ASSESS, ("dispatcher1", "dispatch.schema.json", {"lead_unit_id": "fz_transport"}),
      ("fz_transport_staff", "sign_for.schema.json", {"sign_decision": "sign"}),
      ("fz_transport_leader", "assign_handler.schema.json", {"department": "运输管理科", "handler_id": "fz_transport_staff"}),
      ("fz_transport_staff", "record_result.schema.json", {"result_action": "submit_result",
                                                           "result": "已会同公交集团现场勘察，拟于下季度增设站点。"})]),
    # between centres (Art. 8, 9): "_by" names the agent who took the call, so the centre that accepted it
    ({"_by": "tj_intake", "appeal_type": "complaint", "title": "省属医院预约挂号系统频繁故障", "region_code": "350103",
      "location": "福州市台江区", "content": "在台江区就医时，省属医院的预约挂号系统连续三天无法使用。"},
     [("tj_intake", "assess_appeal.schema.json", {"assessment": "dispatch"}),
      ("tj_dispatcher", "dispatch.schema.json", {"dispatch_action": "escalate",
                                                 "transfer_reason": "属省属医院职责，须由省级单位办理"})]),
    ({"_by": "fz_intake", "appeal_type": "complaint", "title": "闽江跨市河段漂浮垃圾", "region_code": "350102",
      "content": "闽江福州至厦门方向航道沿线漂浮垃圾多，涉及两市。"},
     [("fz_intake", "assess_appeal.schema.json", {"assessment": "dispatch"}),
      ("fz_dispatcher", "dispatch.schema.json", {"dispatch_action": "coordinate", "related_region_codes": ["350203"],
                                                 "transfer_reason": "涉及福州、厦门两市，需省级协调"}),
      ("dispatcher1", "receive_transfer.schema.json", {"transfer_decision": "accept"}),
      ("dispatcher1", "dispatch.schema.json", {"lead_unit_id": "fz_housing", "co_unit_ids": ["xm_env"]})]),
    ({"_by": "sm_intake", "appeal_type": "complaint", "title": "商铺夜间音响扰民", "region_code": "350203",
      "location": "厦门市思明区", "content": "思明区某商铺每晚大声播放音乐至深夜。"},
     [("sm_intake", "assess_appeal.schema.json", {"assessment": "dispatch"}),
      ("sm_dispatcher", "dispatch.schema.json", {"dispatch_action": "escalate", "transfer_reason": "不清楚职责"}),
      ("dispatcher1", "receive_transfer.schema.json", {"transfer_decision": "send_back",
                                                       "send_back_reason": "属区市场监管职责，请区中心派单"})]),
    ({"_by": "hl_intake", "appeal_type": "help", "title": "路口信号灯损坏", "region_code": "350206",
      "location": "厦门市湖里区", "content": "湖里区某路口信号灯不亮，车辆通行混乱。"}, []),
    ({"_by": "xm_intake", "appeal_type": "complaint", "title": "工厂废气异味", "region_code": "350200",
      "location": "厦门市", "content": "附近工厂夜间排放刺鼻气味。"},
     [("xm_intake", "assess_appeal.schema.json", {"assessment": "dispatch"}),
      ("xm_dispatcher", "dispatch.schema.json", {"lead_unit_id": "xm_env", "co_unit_ids": []}),
      ("xm_env_staff", "sign_for.schema.json", {"sign_decision": "sign"})]),
    # second-level dispatch (二级派单): 鼓楼区人民政府 sends it on to a street office, which signed for it
    ({"appeal_type": "help", "title": "老旧小区楼道灯不亮", "content": "五一街道某老旧小区楼道灯坏了一个月，老人夜间上下楼不便。"},
     [ASSESS, ("dispatcher1", "dispatch.schema.json", {"lead_unit_id": "gl_gov"}),
      ("gl_gov_staff", "sign_for.schema.json", {"sign_decision": "sign"}),
      ("gl_gov_leader", "assign_handler.schema.json", {"assign_action": "sub_dispatch", "sub_unit_id": "gl_street_wys",
                                                       "sub_dispatch_note": "请街道尽快组织维修并回复"}),
      ("gl_street_wys_staff", "sub_sign_for.schema.json", {"sub_sign_decision": "sign"})]),
]


# as callers give them; registration stores them in E.164 (hotline.phones)
DEMO_PHONES = ("136 0000 1111", "+86 139-0591-2222", "(0591) 8765 4321")


def start_open_appeals(db) -> int:
    """Create the demo's open appeals once (none exist yet); returns how many were created."""
    with db.read() as session:
        if session.scalar(select(UserTask.id).where(UserTask.state == "open").limit(1)) is not None:
            return 0
    return len(drive_open_appeals(db))


def drive_open_appeals(db) -> list:
    """Register the demo's open appeals and take each as far as its steps go on the deployed
    diagram; returns the appeals."""
    with db.read() as session:
        people = {u.username: u for u in session.scalars(select(User))}
        unit_ids = dict(session.execute(select(OrganizerUnit.code, OrganizerUnit.id)).all())
    created = []
    for index, (fields, steps) in enumerate(OPEN_APPEALS):
        phone = DEMO_PHONES[index % len(DEMO_PHONES)]
        fields = dict(fields)
        agent = people.get(fields.pop("_by", "intake1"))
        if agent is None:  # a database whose demo centres were not loaded
            continue
        data = {"channel": "phone", "location": "福州市鼓楼区", "region_code": "350102",
                "appellant": {"kind": "citizen", "name": "王女士", "phone": phone}, **fields}
        appeal = appeals.register(db, data, agent)
        created.append(appeal)
        for username, form, values in steps:
            values = {k: unit_ids.get(v, v) if k in ("lead_unit_id", "sub_unit_id") else [unit_ids.get(c, c) for c in v]
                      if k == "co_unit_ids" else people[v].id if k == "handler_id" else v for k, v in values.items()}
            if not _complete_step(db, appeal, people[username], form, values):
                break
    return created


def _complete_step(db, appeal, user, form: str, values: dict) -> bool:
    """Complete the appeal's open task with this form as `user`; False (the appeal stays where it
    is) when there is none or the deployed form refuses the demo's values."""
    with db.read() as session:
        task_id = session.scalar(select(UserTask.id).where(
            UserTask.business_key == appeal.id, UserTask.form == form, UserTask.state == "open"))
    if task_id is None:
        log.info("demo appeal %s waits: no open step with form %s", appeal.number, form)
        return False
    try:
        tasks.complete(db, task_id, values, user)
    except EngineError as err:
        log.info("demo appeal %s waits: %s refused the demo's data (%s)", appeal.number, form, err)
        return False
    return True
