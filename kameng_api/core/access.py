"""Who may do what: one table, read by the API's permission classes (`permissions.py`), the admin
(`core/admin.py`, the case page's actions) and the Django groups of the roles (`cases/roles.py`).

A row names an action and the roles allowed to take it. Which *objects* a role reaches is the
queryset's job (`Case.objects.for_user`): another organization's object is not found (404), a role
missing here is refused (403).
"""

from kameng_api.core.actors import Actor
from kameng_api.core.roles import PARTNER, Role

INTAKE, HANDLER, SUPERVISOR, ANALYST = Role.INTAKE, Role.HANDLER, Role.SUPERVISOR, Role.ANALYST

_STAFF = frozenset({INTAKE, HANDLER, SUPERVISOR})
_READERS = _STAFF | {PARTNER}
_WRITERS = frozenset({HANDLER, SUPERVISOR})
_SUPERVISORS = frozenset({SUPERVISOR})
_EVERYONE = frozenset({INTAKE, HANDLER, SUPERVISOR, ANALYST, PARTNER})

ACCESS: dict[str, frozenset] = {
    # cases
    "case.read": _READERS,
    "case.create": _READERS,
    "case.update": _WRITERS,
    "case.transition": _WRITERS,
    "case.resolve": _WRITERS,
    "case.assign": _SUPERVISORS,
    "case.waiting": _WRITERS,
    "consumer.read": _READERS,  # the unmasked consumer, audit-logged on every read
    # evidence
    "evidence.add": _READERS,
    "evidence.supersede": _READERS,
    "evidence.withdraw": _WRITERS,
    # escalation
    "escalation.submit": _WRITERS,
    "escalation.approve_legal": _SUPERVISORS,
    "escalation.answer": _WRITERS,
    "deadline.read": _READERS,
    "deadline.manage": _WRITERS,  # suspend, resume, extend
    "calendar.read": _STAFF,
    "calendar.manage": _SUPERVISORS,
    # the organization's own procedure (procedure app): handlers record, supervisors approve refusals and
    # support to sue; a partner key reads the procedure of the cases it filed
    "procedure.read": _READERS,
    "procedure.record": _WRITERS,
    "procedure.approve": _SUPERVISORS,
    "public_interest.manage": _SUPERVISORS,
    # registry
    "platform.read": _EVERYONE,
    "platform.manage": _SUPERVISORS,
    # organization administration
    "apikey.manage": _SUPERVISORS,
    "auditlog.read": _SUPERVISORS,
    # notifications
    "alert.read": _READERS,
    "webhook.manage": _SUPERVISORS | {PARTNER},
    "delivery.read": _SUPERVISORS,
    # statistics (a partner key also needs ApiKey.can_read_stats)
    "stats.read": frozenset({ANALYST, SUPERVISOR, PARTNER}),
    "mass_incident.read": _SUPERVISORS,
    # personal data (privacy/): the person's rights (PIPL arts. 44-47) and the retention settings
    "privacy.rights": _SUPERVISORS,  # export, correct, erase
    "privacy.settings": _SUPERVISORS,
}


def roles_for(action: str) -> frozenset:
    """The roles allowed to take `action`; an unknown action is a programming error (KeyError)."""
    return ACCESS[action]


def role_of(user) -> str | None:
    """The role of a request's user: a staff role, `partner` for an API key, None otherwise
    (anonymous, or a user without an organization)."""
    who = Actor.of(user)
    return who.role if who.organization_id is not None else None


def may(user, action: str) -> bool:
    """May this user (or API key) take `action` at all? Object scoping is separate (the queryset)."""
    role = role_of(user)
    if role not in roles_for(action):
        return False
    if action == "stats.read" and role == PARTNER:
        key = Actor.of(user).api_key
        return bool(key and key.can_read_stats)
    return True


def may_admin(user, action: str) -> bool:
    """The admin's question: a superuser administers every page; staff go by the table."""
    if not (getattr(user, "is_active", False) and getattr(user, "is_staff", False)):
        return False
    return bool(user.is_superuser) or may(user, action)
