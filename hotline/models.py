"""The hotline's tables: regions, organizer units, users, appeals and what hangs off them
(units dispatched to, the appellant's contact, attachments, comments, contact grants, overdue
records, supervision, accountability, return visits, knowledge). The appellant's contact lives
apart from the appeal so that what organizer units read can be controlled and recorded.
The runtime's tables (runtime.models) refer to an appeal only by its id, the business key."""
from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from runtime import clock
from runtime.db import Base, UtcDateTime

APPEAL_TYPES = ("consultation", "complaint", "suggestion", "help")
CHANNELS = ("phone", "web", "wechat", "app", "email", "letter", "visit", "open311")


class Region(Base):
    __tablename__ = "region"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(6), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(10))  # province | city | district
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("region.id"))
    # Art. 16, 19: the unit that takes matters whose responsibility is unclear
    fallback_unit_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizer_unit.id", use_alter=True, name="fk_region_fallback_unit"))


class Centre(Base):
    """A level of the 12345 network (Art. 3, 8, 9): the provincial centre, a city's or a county's.
    It accepts the appeals of its region, has its own platform staff, queues and evaluation;
    the provincial centre (no parent) sees every centre's appeals."""
    __tablename__ = "centre"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str | None] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(10))  # province | city | county
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), unique=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("centre.id"))
    region: Mapped[Region] = relationship()


class OrganizerUnit(Base):
    __tablename__ = "organizer_unit"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))  # government | department | public_service
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("organizer_unit.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    region: Mapped[Region] = relationship(foreign_keys=[region_id])


class User(Base):
    __tablename__ = "app_user"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(50), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(30))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("organizer_unit.id"))
    # platform staff: the centre they work at (Art. 8, 9); organizer staff: None (their unit decides)
    centre_id: Mapped[int | None] = mapped_column(ForeignKey("centre.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # raised by logout, a password reset, a role or unit change, deactivation: every session and
    # token issued under an older version is void at once
    auth_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    unit: Mapped[OrganizerUnit | None] = relationship()


class SignInThrottle(Base):
    """Failed sign-ins per account and per client address: the delay before the next attempt
    grows with them, so a stranger slows an account down but cannot lock it."""
    __tablename__ = "sign_in_throttle"
    __table_args__ = (UniqueConstraint("kind", "key", name="uq_sign_in_throttle_kind_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # account | address
    key: Mapped[str] = mapped_column(String(200))  # the username as typed (lower case) or the address
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_failure_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    blocked_until: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ApiToken(Base):
    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    user: Mapped[User] = relationship()


class Appeal(Base):
    __tablename__ = "appeal"
    # The monitor's list: newest first, keyset-paged by (accepted_at, id), alone or per filter
    # (bench/monitor.py measures them at a million appeals).
    __table_args__ = (Index("ix_appeal_accepted_id", "accepted_at", "id"),
                      Index("ix_appeal_status_accepted", "status", "accepted_at", "id"),
                      Index("ix_appeal_unit_accepted", "lead_unit_id", "accepted_at", "id"),
                      Index("ix_appeal_type_accepted", "appeal_type", "accepted_at", "id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    appeal_type: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(30), index=True)
    title: Mapped[str] = mapped_column(String(100))
    content: Mapped[str] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(String(200))
    region_id: Mapped[int | None] = mapped_column(ForeignKey("region.id"))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    convenience_list: Mapped[bool] = mapped_column(Boolean, default=False)
    confidential: Mapped[bool] = mapped_column(Boolean, default=False)
    emergency: Mapped[bool] = mapped_column(Boolean, default=False)
    simple: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # Art. 20(5)
    # 并单: merged into another appeal, whose reply it takes
    # the centre that holds it now (its queues, its staff) and the one that accepted it (Art. 9)
    centre_id: Mapped[int | None] = mapped_column(ForeignKey("centre.id"), index=True)
    origin_centre_id: Mapped[int | None] = mapped_column(ForeignKey("centre.id"), index=True)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("appeal.id"), index=True)
    lead_unit_id: Mapped[int | None] = mapped_column(ForeignKey("organizer_unit.id"), index=True)
    accepted_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    dispatched_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    dispatch_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    sign_for_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    handling_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    first_contact_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    co_feedback_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # Art. 16: the co-organizers' limit
    # a deadline crossed a year whose holiday schedule is not published (weekdays only)
    deadlines_provisional: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false(), index=True)
    extension_days: Mapped[int] = mapped_column(Integer, default=0)
    rehandle_count: Mapped[int] = mapped_column(Integer, default=0)
    return_count: Mapped[int] = mapped_column(Integer, default=0)
    satisfaction: Mapped[str | None] = mapped_column(String(30))
    resolved: Mapped[bool | None] = mapped_column(Boolean)
    not_accepted_reason: Mapped[str | None] = mapped_column(String(50))
    guidance: Mapped[str | None] = mapped_column(Text)
    answer: Mapped[str | None] = mapped_column(Text)
    handling_result: Mapped[str | None] = mapped_column(Text)
    reply_content: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now, onupdate=clock.now)
    units: Mapped[list["AppealUnit"]] = relationship(back_populates="appeal", cascade="all, delete-orphan")
    centre: Mapped[Centre | None] = relationship(foreign_keys=[centre_id])
    origin_centre: Mapped[Centre | None] = relationship(foreign_keys=[origin_centre_id])


class AppealUnit(Base):
    """The units an appeal is (or was) dispatched to: one lead, any co-organizers (Art. 16)."""
    __tablename__ = "appeal_unit"
    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeal.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("organizer_unit.id"), index=True)
    role: Mapped[str] = mapped_column(String(10))  # lead | co
    assigned_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    appeal: Mapped[Appeal] = relationship(back_populates="units")


class AppellantContact(Base):
    __tablename__ = "appellant_contact"
    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeal.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str | None] = mapped_column(String(50))
    phone: Mapped[str] = mapped_column(String(24), index=True)
    id_number: Mapped[str | None] = mapped_column(String(18))
    agrees_to_disclose: Mapped[bool] = mapped_column(Boolean, default=False)
    anonymized_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # PIPL: kept no longer than needed


class AppealCounter(Base):
    """Per-day sequence for appeal numbers (FJ20261130-000123)."""
    __tablename__ = "appeal_counter"
    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class Attachment(Base):
    __tablename__ = "attachment"
    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeal.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)


class SupervisionItem(Base):
    """An item in the supervision register (Art. 22, 24): opened automatically (repeat
    dissatisfaction, long overdue, returned too often) or by hand, with measures, a
    rectification deadline in working days, the unit's response and closure. One item per
    appeal is open at a time; a later trigger adds its reason to it (`reasons`). Its process
    (processes/supervision.bpmn, `instance_id`) escalates it when the deadline passes
    unanswered; each level issued is kept in `escalations`."""
    __tablename__ = "supervision_item"
    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeal.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("organizer_unit.id"), index=True)
    reason: Mapped[str] = mapped_column(String(50))  # the reason it was opened for
    # every reason, the opening one first, as ",a,b," (filtered with LIKE, as user_task.milestones)
    reasons: Mapped[str] = mapped_column(String(300), default="", server_default="")
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))  # None: opened before 0011
    escalation_level: Mapped[str | None] = mapped_column(String(30))  # the last level issued (Art. 24)
    escalations: Mapped[list | None] = mapped_column(JSON)  # [{"level", "issued_at", "due_at"}], oldest first
    source: Mapped[str] = mapped_column(String(10), default="auto", server_default="auto")  # auto | manual | revisit (a return visit found a problem)
    note: Mapped[str | None] = mapped_column(Text)
    measures: Mapped[list | None] = mapped_column(JSON)  # special_report, rectification_notice, ...
    rectification_days: Mapped[int | None] = mapped_column(Integer)
    rectification_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | responded | closed
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    unit_response: Mapped[str | None] = mapped_column(Text)
    responded_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    responded_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    closing_note: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))

    @property
    def reason_list(self) -> list[str]:
        return [r for r in (self.reasons or "").split(",") if r] or [self.reason]

    @property
    def current_due_at(self) -> datetime | None:
        """The date the unit must answer by now: the last level's, else the rectification deadline."""
        if self.escalations:
            return datetime.fromisoformat(self.escalations[-1]["due_at"])
        return self.rectification_due_at


class AccountabilityRecord(Base):
    """A finding against platform staff (Art. 29) or an organizer unit (Art. 30), with the
    measure taken (Art. 31), linked to the appeals behind it."""
    __tablename__ = "accountability_record"
    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(10))  # staff | unit
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("organizer_unit.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    article: Mapped[str] = mapped_column(String(20))  # e.g. "30(2)"
    measure: Mapped[str] = mapped_column(String(40))
    finding: Mapped[str] = mapped_column(Text)
    appeal_ids: Mapped[list | None] = mapped_column(JSON)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)


class EvaluationLink(Base):
    """A one-time link sent by SMS for the appellant to evaluate the handling (Art. 21)."""
    __tablename__ = "evaluation_link"
    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeal.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ReturnVisitSample(Base):
    """A closed appeal drawn for a random return visit (Art. 23), or a check a supervisor
    ordered (phone, on-site check, face-to-face interview), with its result."""
    __tablename__ = "return_visit_sample"
    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeal.id"), index=True)
    method: Mapped[str] = mapped_column(String(20))  # phone | on_site | interview
    drawn_by: Mapped[str] = mapped_column(String(20))  # sample | supervisor
    seed: Mapped[str | None] = mapped_column(String(50))
    ordered_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    evaluation: Mapped[str | None] = mapped_column(String(30))
    resolved: Mapped[bool | None] = mapped_column(Boolean)
    comment: Mapped[str | None] = mapped_column(Text)
    attachment_ids: Mapped[list | None] = mapped_column(JSON)
    recorded_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))


class OverdueRecord(Base):
    """A limit that ran out (the task stays with the unit; this is kept for evaluation)."""
    __tablename__ = "overdue_record"
    __table_args__ = (UniqueConstraint("appeal_id", "stage", "unit_id", "due_at", name="uq_overdue_record_unit_due"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeal.id"), index=True)
    stage: Mapped[str] = mapped_column(String(20))  # dispatch | sign_for | first_contact | handling | co_feedback
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("organizer_unit.id"), index=True)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)


class Comment(Base):
    """A remark on an appeal (optionally on one of its tasks) by the people working it."""
    __tablename__ = "comment"
    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeal.id"), index=True)
    task_id: Mapped[str | None] = mapped_column(String(36))
    author_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)


class ContactGrant(Base):
    """A supervisor lets one organizer unit see the appellant's contact for one appeal."""
    __tablename__ = "contact_grant"
    __table_args__ = (Index("ix_contact_grant_appeal_unit", "appeal_id", "unit_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeal.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("organizer_unit.id"))
    reason: Mapped[str] = mapped_column(String(500))
    granted_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    granted_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class KnowledgeArticle(Base):
    """Government information that organizer units keep up to date (Art. 9(6), 11(3))."""
    __tablename__ = "knowledge_article"
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("organizer_unit.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(50))
    category_en: Mapped[str | None] = mapped_column(String(50))  # the category's English name
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # shown to everyone on the public portal's FAQ (issue 15); platform staff set it
    public: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))


class KnowledgeGram(Base):
    """Every two-character piece of an article's title and body: Chinese text is found by any
    substring of two or more characters on SQLite and PostgreSQL alike."""
    __tablename__ = "knowledge_gram"
    article_id: Mapped[int] = mapped_column(ForeignKey("knowledge_article.id"), primary_key=True)
    gram: Mapped[str] = mapped_column(String(2), primary_key=True, index=True)


PENDING_REQUEST = text("state = 'pending'")  # contact_request rows still awaiting a decision


class ContactRequest(Base):
    """A unit asks the platform to see the appellant's contact on one appeal, with a reason; a
    supervisor grants it (the ContactGrant it made is kept) or refuses it with a reason
    (hotline.contact_requests). At most one request per unit and appeal is pending."""
    __tablename__ = "contact_request"
    __table_args__ = (Index("ix_contact_request_appeal_unit", "appeal_id", "unit_id"),
                      Index("uq_contact_request_pending", "appeal_id", "unit_id", unique=True,
                            postgresql_where=PENDING_REQUEST, sqlite_where=PENDING_REQUEST),
                      # the supervisors' list: pending requests, oldest first
                      Index("ix_contact_request_pending_at", "requested_at",
                            postgresql_where=PENDING_REQUEST, sqlite_where=PENDING_REQUEST))
    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeal.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("organizer_unit.id"))
    reason: Mapped[str] = mapped_column(String(500))
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    state: Mapped[str] = mapped_column(String(10), default="pending")  # pending | granted | refused
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    refusal_reason: Mapped[str | None] = mapped_column(String(500))
    grant_id: Mapped[int | None] = mapped_column(ForeignKey("contact_grant.id"))


class TaskDraft(Base):
    """What a user typed into an open task's form without submitting it, kept when the page went
    to the server for something else (an upload), so that the task's page shows it again,
    reloaded or reopened later (hotline.task_drafts). One per task and user; submitting drops it."""
    __tablename__ = "task_draft"
    task_id: Mapped[str] = mapped_column(ForeignKey("user_task.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), primary_key=True)
    values: Mapped[dict] = mapped_column(JSON)  # field name -> list of strings, as the form sent them
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)


class AppealGram(Base):
    """Every two-character piece of an appeal's title (hotline.title_search): a title word of
    two or more characters is found through this index on SQLite and PostgreSQL alike."""
    __tablename__ = "appeal_gram"
    gram: Mapped[str] = mapped_column(String(2), primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeal.id", ondelete="CASCADE"), primary_key=True)


# -- Open311 (issue 15) --

ACTIVE_CLIENT = text("revoked_at IS NULL")  # open311_client rows whose key still works


class Open311Client(Base):
    """A client system (a city's app, a county's work-order system) that files appeals through
    the Open311 GeoReport v2 API with the key an administrator issued it (hotline.open311_clients).
    Only the key's SHA-256 is kept; its first characters tell keys apart on the admin page. A
    revoked client keeps its row (its appeals name it); its name may be given to a new one.
    `user` is the client's own account, no one signs in with: the actor of what it files, so
    history says "Open311 <name>" (as the portal's "诉求人（网上）", hotline.portal)."""
    __tablename__ = "open311_client"
    __table_args__ = (Index("uq_open311_client_active_name", "name", unique=True,
                            postgresql_where=ACTIVE_CLIENT, sqlite_where=ACTIVE_CLIENT),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_prefix: Mapped[str] = mapped_column(String(12))
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))  # None: the command line
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))


class Open311Request(Base):
    """An appeal a client system filed (hotline.open311): the token its POST answered with, and
    the client's own account id for the person, which only the POST's answer repeats."""
    __tablename__ = "open311_request"
    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeal.id"), unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("open311_client.id"), index=True)
    token: Mapped[str] = mapped_column(String(32), unique=True)
    account_id: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)


# -- public portal (issue 15) --

class PortalCode(Base):
    """A one-time code sent by SMS to prove a phone on the public portal (hotline.portal_codes):
    to submit an appeal (`appeal_id` is the appeal it filed, once used) or to track one
    (`appeal_id` is the appeal asked about). Only a salted SHA-256 of the code is kept. The rows
    are also what the portal's limits count (codes sent per number and per address, appeals
    submitted), and go once no limit counts them."""
    __tablename__ = "portal_code"
    __table_args__ = (Index("ix_portal_code_phone_created", "phone", "created_at"),
                      Index("ix_portal_code_address_created", "address", "created_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(10))  # submit | track
    phone: Mapped[str] = mapped_column(String(24))  # E.164
    address: Mapped[str] = mapped_column(String(64))  # the client address that asked for it
    appeal_id: Mapped[int | None] = mapped_column(ForeignKey("appeal.id"))
    salt: Mapped[str] = mapped_column(String(32))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now, index=True)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # wrong codes entered
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


# -- published evaluation (issue 16, Art. 26, 27) --

PROVINCE_WIDE = text("centre_id IS NULL")  # evaluation_publication rows of the whole province


class EvaluationPublication(Base):
    """A period's evaluation as a process owner published it (hotline.publication): the figures
    frozen at that moment, which the civilization office received and observers read. Once per
    period and centre (`centre_id` None: the whole province); what changes later shows only as a
    difference from the frozen table, never in it."""
    __tablename__ = "evaluation_publication"
    # NULLs differ in a UNIQUE constraint: the province-wide row of a period has an index of its own
    __table_args__ = (UniqueConstraint("period", "centre_id", name="uq_evaluation_publication_period_centre"),
                      Index("uq_evaluation_publication_province", "period", unique=True,
                            postgresql_where=PROVINCE_WIDE, sqlite_where=PROVINCE_WIDE))
    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(10))  # the period's key: 2026-11, 2026-Q4, 2026
    centre_id: Mapped[int | None] = mapped_column(ForeignKey("centre.id"), index=True)
    published_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    published_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    snapshot: Mapped[dict] = mapped_column(JSON)  # columns, rows, summary, statistics (hotline.publication)
