"""The runtime's own tables: deployments, process instances, the user tasks projected out of them,
timer jobs, history, the outbox, and the modeler's drafts and instance migrations.

Nothing here knows what a process is for: an instance carries a business key (an integer the
application chooses, here an appeal's id), and actors, units and keys are plain ids, with no
foreign key into the application's tables.
"""
from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from . import clock
from .db import Base, UtcDateTime


class Deployment(Base):
    """One version of a process bundle (its .bpmn/.dmn files and forms), keyed by content hash."""
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


LIVE = "status IN ('running', 'suspended')"


class ProcessInstance(Base):
    """One run of a process of a deployed bundle: the bundle's main process, or another process
    of the same bundle started on its own (`process_key`). A business key has at most one live
    (running or suspended) instance of each process; ended ones stay, with their history."""
    __tablename__ = "process_instance"
    __table_args__ = (Index("ix_process_instance_business_key", "business_key", "process_key"),
                      Index("uq_process_instance_live", "process_key", "business_key", unique=True,
                            postgresql_where=text(LIVE), sqlite_where=text(LIVE)))
    id: Mapped[int] = mapped_column(primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployment.id"), index=True)
    process_key: Mapped[str] = mapped_column(String(100))  # the process it runs, of its deployment's bundle
    business_key: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), index=True)  # running | suspended | completed | terminated
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
                            sqlite_where=text("state = 'open'")),
                      # a unit's open tasks in the API's keyset order (hotline.inbox.page)
                      Index("ix_user_task_open_unit_due", "unit_id", "due_at", "id",
                            postgresql_where=text("state = 'open'"), sqlite_where=text("state = 'open'")))
    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # SpiffWorkflow task id
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    business_key: Mapped[int] = mapped_column(Integer, index=True)
    bpmn_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    lane: Mapped[str | None] = mapped_column(String(100))
    form: Mapped[str | None] = mapped_column(String(100))
    candidate_roles: Mapped[str] = mapped_column(String(200))
    unit_id: Mapped[int | None] = mapped_column(Integer, index=True)  # the unit whose members may work it
    # where its group works (`scopeVariable`; the hotline: the centre): only users of that scope may work it
    scope_id: Mapped[int | None] = mapped_column(Integer, index=True)
    # the milestones its completion may reach (declared `milestone:<name>` properties), ",a,b,"
    milestones: Mapped[str] = mapped_column(String(300), default="", server_default="")
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    claimed_by_id: Mapped[int | None] = mapped_column(Integer, index=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    state: Mapped[str] = mapped_column(String(20), default="open", index=True)  # open | completed | cancelled
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    completed_by_id: Mapped[int | None] = mapped_column(Integer)
    deadline_stage: Mapped[str | None] = mapped_column(String(20))  # which limit its due time is
    overdue_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    notices = ()  # not stored: what the steps run by completing it told the user (runtime.tasks.complete)

    def is_overdue(self, now: datetime) -> bool:
        return self.overdue_at is not None or (self.due_at is not None and self.due_at < now)

    def reaches(self, milestone: str) -> bool:
        """Whether completing this task may reach `milestone` (as its diagram declares)."""
        return f",{milestone}," in (self.milestones or "")


class HistoryEvent(Base):
    """Append-only audit: who did what, when, with the data before and after."""
    __tablename__ = "history_event"
    __table_args__ = (Index("ix_history_key_at", "business_key", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    business_key: Mapped[int | None] = mapped_column(Integer)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
    actor_id: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    action: Mapped[str] = mapped_column(String(50))
    task_bpmn_id: Mapped[str | None] = mapped_column(String(100))
    task_name: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[dict | None] = mapped_column(JSON)
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    seal: Mapped[str | None] = mapped_column(String(64))  # hash chained to the previous row's (tamper evidence)


class IdempotencyKey(Base):
    """A request that carried an Idempotency-Key: a retry with the same key gets the first
    answer again and changes nothing."""
    __tablename__ = "idempotency_key"
    __table_args__ = (UniqueConstraint("scope", "key", name="uq_idempotency_scope_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(200))  # who and which route
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now, index=True)


class Notification(Base):
    """Outbox: written in the same transaction as the change that causes it, sent after."""
    __tablename__ = "notification"
    id: Mapped[int] = mapped_column(primary_key=True)
    business_key: Mapped[int | None] = mapped_column(Integer, index=True)
    channel: Mapped[str] = mapped_column(String(20))  # sms | phone_call | in_app | emergency
    recipient: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


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


class ProcessDraft(Base):
    """An analyst's change of one diagram, table or form file, edited in the browser, validated
    and deployed from there."""
    __tablename__ = "process_draft"
    id: Mapped[int] = mapped_column(primary_key=True)
    file_name: Mapped[str] = mapped_column(String(200), unique=True)
    content: Mapped[str] = mapped_column(Text)
    based_on_deployment_id: Mapped[int | None] = mapped_column(ForeignKey("deployment.id"))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    updated_by_id: Mapped[int | None] = mapped_column(Integer)


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
    migrated_by_id: Mapped[int | None] = mapped_column(Integer)
    reverted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reverted_by_id: Mapped[int | None] = mapped_column(Integer)


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
    requested_by_id: Mapped[int | None] = mapped_column(Integer)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
