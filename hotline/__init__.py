"""The hotline domain: appeals and their intake, units and users, the operators the diagrams
call, statuses and milestones as the diagrams declare them, supervision, accountability,
evaluation, return visits, knowledge and privacy. It runs on the generic runtime (runtime/)
and the working-day calendar (workdays/); `configure()` plugs it into the runtime.
"""
import re

from runtime import registry

from . import contract, operators, title_search
from .access import ADMIN, UNIT_LEADER
from .config import FORMS_DIR, MAIN_PROCESS, PROCESSES_DIR
from .extension import HotlineExtension

# Lane -> roles, for user tasks that do not name `candidateRoles` themselves.
LANE_ROLES = {
    "12345平台": "intake_agent,dispatcher,return_visit_staff,supervisor",
    "承办单位": "organizer_staff,organizer_leader",
    "承办单位领导": "organizer_leader",
}
# The appellant's one-time evaluation links (/e/<token>, hotline.return_visits) and the public
# portal's SMS codes (hotline.portal_codes)
SECRET_LINKS = re.compile(r"(/e/)[A-Za-z0-9_-]{8,}|(?<=验证码：)\d{6}|(?<=verification code: )\d{6}")


def configure() -> registry.Registry:
    """Build the runtime's registry for the hotline and install it (idempotent)."""
    config = registry.Registry(processes_dir=PROCESSES_DIR, forms_dir=FORMS_DIR, main_process=MAIN_PROCESS,
                               lane_roles=dict(LANE_ROLES), admin_role=ADMIN, unit_leader_role=UNIT_LEADER,
                               scope_attribute="centre_id",
                               rules=contract.RULES, secret_links=SECRET_LINKS, extension=HotlineExtension())
    for fn in operators.ALL:
        config.operator(fn)
    title_search.install()  # appeal titles indexed by their two-character pieces
    return registry.configure(config)
