"""What the hotline's operators and expressions get in a unit of work: the appeal the instance
serves (its business key), the session, the actor, the time, the calendar in force, and ways to
record history and write notifications to the outbox in the same transaction."""
from dataclasses import dataclass, field

from sqlalchemy import select

from runtime import history
from runtime.models import Notification
from runtime.registry import Step
from workdays import store

from .models import Appeal, AppellantContact


@dataclass
class Context:
    step: Step
    _appeal: Appeal | None = field(default=None, repr=False)
    _calendar: object = field(default=None, repr=False)

    @property
    def session(self):
        return self.step.session

    @property
    def actor(self):
        return self.step.actor

    @property
    def now(self):
        return self.step.now

    @property
    def instance_id(self):
        return self.step.instance_id

    @property
    def appeal(self) -> Appeal:
        if self._appeal is None:
            self._appeal = self.session.get(Appeal, self.step.business_key)
        return self._appeal

    @property
    def calendar(self):
        if self._calendar is None:
            self._calendar = store.build(self.session)
        return self._calendar

    def record(self, action, **detail):
        history.record(self.session, action, business_key=self.appeal.id, instance_id=self.instance_id,
                       actor_id=getattr(self.actor, "id", None), detail=detail or None)

    def notify(self, channel, recipient, body):
        self.session.add(Notification(business_key=self.appeal.id, channel=channel, recipient=recipient, body=body))

    def tell(self, zh: str, en: str):
        """A message for whoever completes the step (shown after their submission)."""
        self.step.notices.append({"zh": zh, "en": en})

    def notify_appellant(self, body):
        """An SMS to the appellant's number (kept apart from the appeal)."""
        phone = self.session.scalar(select(AppellantContact.phone).where(AppellantContact.appeal_id == self.appeal.id))
        self.notify("sms", phone or "appellant", body)
