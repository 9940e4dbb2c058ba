"""A generic BPMN runtime on SpiffWorkflow, SQLAlchemy and a job loop, in Camunda's service split:
repository (validate and deploy versioned bundles of diagrams and forms), instances (start,
load, advance, save; suspend, resume, terminate), tasks (claim, complete; milestones reached),
jobs and timers (due timers as rows, workers, incidents), history (append-only audit), outbox
(notifications sent after commit), migration (moving instances between versions), drafts (the
modeler's edits). It knows nothing of HTTP or of what a process is for: an instance carries a
business key, and the application plugs in its operators and hooks through `registry`.
"""
from . import history  # noqa: F401  (its insert hook seals every history row, however it is added)
