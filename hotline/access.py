"""Who may do what: the roles, and one table of capabilities read by the domain and the web
layer alike (pages, the API, the navigation). A capability is granted to the roles listed;
the administrator has every capability but those it must not act in (answering for a unit).

What a user sees beyond a capability (only their unit's appeals and tasks) is decided where
the data is read (hotline.appeals, hotline.inbox).
"""
from runtime.errors import Forbidden

ROLES = (
    "intake_agent", "dispatcher", "organizer_staff", "organizer_leader", "return_visit_staff",
    "supervisor", "process_owner", "analyst", "civilization_office", "observer", "admin",
)
ADMIN = "admin"
PLATFORM_ROLES = ("intake_agent", "dispatcher", "return_visit_staff", "supervisor", "process_owner", ADMIN)
ORGANIZER_ROLES = ("organizer_staff", "organizer_leader")
# Art. 26, 27: those who watch from outside: the civilization office reads the evaluation and
# receives each published period's report; observers (deputies, CPPCC members, efficiency
# supervisors, the media) read published figures and anonymised statistics, never personal data
OUTSIDE_ROLES = ("civilization_office", "observer")
UNIT_LEADER = "organizer_leader"

CAPABILITIES: dict[str, tuple[str, ...]] = {
    "work_tasks": ("intake_agent", "dispatcher", *ORGANIZER_ROLES, "return_visit_staff", "supervisor"),
    "register_appeals": ("intake_agent", "dispatcher"),
    "urge": ("intake_agent", "dispatcher", "supervisor"),  # link a repeat call to an open appeal
    "withdraw": ("intake_agent", "dispatcher", "supervisor"),  # record the appellant's withdrawal
    "dispatch": ("dispatcher",),
    "read_all_appeals": PLATFORM_ROLES,  # organizer staff read their unit's appeals only
    "grant_contact": ("supervisor",),
    "read_supervision": ("supervisor", "process_owner", *ORGANIZER_ROLES),  # units: their own items
    "supervise": ("supervisor",),
    "respond_supervision": (UNIT_LEADER,),  # of their unit
    "record_accountability": ("supervisor",),
    "return_visits": ("return_visit_staff", "supervisor"),
    "order_checks": ("supervisor",),
    "read_evaluation": ("process_owner", "supervisor", UNIT_LEADER, "civilization_office"),  # a leader: their unit's row
    "read_published_evaluation": ("process_owner", "supervisor", *OUTSIDE_ROLES),
    "publish_evaluation": ("process_owner",),
    "export_all_units": ("process_owner", "supervisor"),
    "monitor": ("process_owner", "supervisor"),
    "operate_instances": ("process_owner",),  # suspend, resume, terminate, retry incidents
    "read_definitions": ("process_owner", "analyst"),
    "model": ("analyst", "process_owner"),
    "migrate_instances": ("process_owner",),
    "read_calendar": ("process_owner", "supervisor"),
    "edit_knowledge": (*PLATFORM_ROLES, *ORGANIZER_ROLES),  # units: their own articles
    # the knowledge base is the staff's (agents' scripts among it); those who watch from outside read
    # published figures only (the public FAQ is on the portal)
    "read_knowledge": (*PLATFORM_ROLES, *ORGANIZER_ROLES, "analyst"),
    "administer": (),  # users, units, the calendar: the administrator alone
}
NOT_FOR_ADMIN = {"respond_supervision"}  # an administrator does not answer for a unit


def roles_with(capability: str) -> tuple[str, ...]:
    """Every role that has the capability (the administrator included where it applies)."""
    roles = CAPABILITIES[capability]
    return roles if capability in NOT_FOR_ADMIN or ADMIN in roles else (*roles, ADMIN)


def can(user, capability: str) -> bool:
    return user is not None and user.role in roles_with(capability)


def require(user, capability: str) -> None:
    """Raises Forbidden."""
    if not can(user, capability):
        raise Forbidden(f"your role may not do this ({capability})", "no_capability")
