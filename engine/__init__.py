"""The Hotline 12345 runtime: it runs the diagrams in processes/ and knows nothing of HTTP.

One module per concern, read like Camunda's services:
definitions (deploy and cache diagrams), instances (start and advance a process, one
transaction each), tasks (the inbox: READY user tasks as rows, claim, complete), history
(append-only audit), services (what service tasks in the diagrams call), calendar and
deadlines (working-day time limits), appeals (intake and numbering), forms (JSON Schema).
"""

# Modules that register service operators the diagrams call (besides engine.services itself).
from . import return_visits  # noqa: F401
