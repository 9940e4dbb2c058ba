"""Tables. Domain rows (appeal, organizer unit, user) beside the runtime's own (deployment,
process instance, user task, history, outbox). The appellant's contact lives apart from the
appeal so that what organizer units read can be controlled and recorded."""
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
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

from . import clock
from .db import Base, UtcDateTime

ROLES = (
    "intake_agent", "dispatcher", "organizer_staff", "organizer_leader", "return_visit_staff",
    "supervisor", "process_owner", "analyst", "admin",
)
PLATFORM_ROLES = ("intake_agent", "dispatcher", "return_visit_staff", "supervisor", "process_owner", "admin")
ORGANIZER_ROLES = ("organizer_staff", "organizer_leader")
APPEAL_TYPES = ("consultation", "complaint", "suggestion", "help")
CHANNELS = ("phone", "web", "wechat", "app", "email", "letter", "visit")


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
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    unit: Mapped[OrganizerUnit | None] = relationship()


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
    lead_unit_id: Mapped[int | None] = mapped_column(ForeignKey("organizer_unit.id"), index=True)
    accepted_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    dispatched_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    dispatch_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    sign_for_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    handling_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    first_contact_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
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


class Deployment(Base):
    """One version of a process bundle (its .bpmn/.dmn files), keyed by content hash."""
    __tablename__ = "deployment"
    __table_args__ = (UniqueConstraint("process_key", "version"),
                      UniqueConstraint("process_key", "content_hash"))
    id: Mapped[int] = mapped_column(primary_key=True)
    process_key: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    # deferred: loaded only when the spec cache misses, not on every completion
    files: Mapped[dict] = mapped_column(JSON, deferred=True)
    spec: Mapped[dict] = mapped_column(JSON, deferred=True)
    deployed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    deployed_by: Mapped[str | None] = mapped_column(String(50))


class ProcessInstance(Base):
    __tablename__ = "process_instance"
    id: Mapped[int] = mapped_column(primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployment.id"), index=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeal.id"), unique=True)
    status: Mapped[str] = mapped_column(String(20), index=True)  # running | completed
    state: Mapped[dict] = mapped_column(JSON)
    serializer_version: Mapped[str] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    deployment: Mapped[Deployment] = relationship()
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy reads it as is)


class UserTask(Base):
    """A user task projected out of the instance state: the inbox reads only this. Rows stay
    after completion so that a late second submission is told "already done" (409)."""
    __tablename__ = "user_task"
    # open tasks by due time: the monitor's overdue and due-today counts and filters
    __table_args__ = (Index("ix_user_task_open_due", "due_at", postgresql_where=text("state = 'open'"),
                            sqlite_where=text("state = 'open'")),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # SpiffWorkflow task id
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeal.id"), index=True)
    bpmn_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    lane: Mapped[str | None] = mapped_column(String(100))
    form: Mapped[str | None] = mapped_column(String(100))
    candidate_roles: Mapped[str] = mapped_column(String(200))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("organizer_unit.id"), index=True)
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    state: Mapped[str] = mapped_column(String(20), default="open", index=True)  # open | completed | cancelled
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    deadline_stage: Mapped[str | None] = mapped_column(String(20))  # which limit its due time is
    overdue_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class HistoryEvent(Base):
    """Append-only audit: who did what, when, with the data before and after."""
    __tablename__ = "history_event"
    __table_args__ = (Index("ix_history_appeal_at", "appeal_id", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int | None] = mapped_column(ForeignKey("appeal.id"))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    action: Mapped[str] = mapped_column(String(50))
    task_bpmn_id: Mapped[str | None] = mapped_column(String(100))
    task_name: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[dict | None] = mapped_column(JSON)
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)


class SupervisionItem(Base):
    """An item in the supervision register (Art. 22, 24): opened automatically (repeat
    dissatisfaction, long overdue, returned too often) or by hand, with measures, a
    rectification deadline in working days, the unit's response and closure."""
    __tablename__ = "supervision_item"
    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeal.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("organizer_unit.id"), index=True)
    reason: Mapped[str] = mapped_column(String(50))
    source: Mapped[str] = mapped_column(String(10), default="auto", server_default="auto")  # auto | manual
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


class Notification(Base):
    """Outbox: written in the same transaction as the change that causes it, sent after."""
    __tablename__ = "notification"
    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int | None] = mapped_column(ForeignKey("appeal.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))  # sms | phone_call | in_app | emergency
    recipient: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


class OverdueRecord(Base):
    """A limit that ran out (the task stays with the unit; this is kept for evaluation)."""
    __tablename__ = "overdue_record"
    __table_args__ = (UniqueConstraint("appeal_id", "stage", "due_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeal.id"), index=True)
    stage: Mapped[str] = mapped_column(String(20))  # dispatch | sign_for | first_contact | handling
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("organizer_unit.id"), index=True)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)


class Job(Base):
    """A pending timer of a process instance. Workers claim due rows with an expiring lock;
    a job that keeps failing becomes an incident until someone retries it."""
    __tablename__ = "job"
    __table_args__ = (UniqueConstraint("instance_id", "task_id"), Index("ix_job_status_due", "status", "due_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(36))  # the SpiffWorkflow timer event task
    name: Mapped[str | None] = mapped_column(String(200))
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending | incident
    lock_owner: Mapped[str | None] = mapped_column(String(100))
    lock_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    retries: Mapped[int] = mapped_column(Integer, default=3)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)


class CalendarYear(Base):
    """A year whose holiday schedule was loaded (beyond what chinese_calendar covers)."""
    __tablename__ = "calendar_year"
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    source: Mapped[str] = mapped_column(String(200))
    loaded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    loaded_by: Mapped[str | None] = mapped_column(String(50))


class CalendarDay(Base):
    """A day that is off or on against the usual rule: from a loaded year file or an
    administrator (a typhoon day off); administrator rows are never overwritten by files."""
    __tablename__ = "calendar_day"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    working: Mapped[bool] = mapped_column(Boolean)
    name: Mapped[str | None] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(20))  # file | admin
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    updated_by: Mapped[str | None] = mapped_column(String(50))


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
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))


class KnowledgeGram(Base):
    """Every two-character piece of an article's title and body: Chinese text is found by any
    substring of two or more characters on SQLite and PostgreSQL alike."""
    __tablename__ = "knowledge_gram"
    article_id: Mapped[int] = mapped_column(ForeignKey("knowledge_article.id"), primary_key=True)
    gram: Mapped[str] = mapped_column(String(2), primary_key=True, index=True)


class ProcessDraft(Base):
    """An analyst's unsaved-to-repository change of one diagram or table file, edited in the
    browser, validated and deployed from there."""
    __tablename__ = "process_draft"
    id: Mapped[int] = mapped_column(primary_key=True)
    file_name: Mapped[str] = mapped_column(String(200), unique=True)
    content: Mapped[str] = mapped_column(Text)
    based_on_deployment_id: Mapped[int | None] = mapped_column(ForeignKey("deployment.id"))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))


class InstanceMigration(Base):
    """A running instance moved to another deployment; the previous state is kept so the
    move can be reverted."""
    __tablename__ = "instance_migration"
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    from_deployment_id: Mapped[int] = mapped_column(ForeignKey("deployment.id"))
    to_deployment_id: Mapped[int] = mapped_column(ForeignKey("deployment.id"))
    previous_state: Mapped[dict] = mapped_column(JSON)
    migrated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    migrated_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    reverted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reverted_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))


class MigrationBatch(Base):
    """"Migrate every eligible instance" as a job for the worker: thousands of instances do not
    fit in one web request. Each instance still moves in its own transaction; `heartbeat_at`
    lets another worker take over a batch whose worker died (moving again is a no-op)."""
    __tablename__ = "migration_batch"
    id: Mapped[int] = mapped_column(primary_key=True)
    to_deployment_id: Mapped[int] = mapped_column(ForeignKey("deployment.id"))
    apply_limits: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)  # pending | running | done
    total: Mapped[int | None] = mapped_column(Integer)
    moved: Mapped[int] = mapped_column(Integer, default=0)
    refused: Mapped[dict] = mapped_column(JSON, default=dict)  # instance id -> zh-CN reason
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    heartbeat_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
