"""What each role may do in the Django admin, as Django groups (the API checks roles itself)."""

from django.contrib.auth.models import Group, Permission

from .codes import Role

READ_REGISTRY = ["cases.view_platform", "cases.view_merchant"]
INTAKE = READ_REGISTRY + [
    "cases.view_case", "cases.add_case", "cases.view_claim", "cases.add_claim", "cases.view_consumer",
    "cases.add_consumer", "cases.view_caseevent", "cases.add_merchant",
    "evidence.view_evidence", "evidence.add_evidence",
]
HANDLER = INTAKE + [
    "cases.change_case", "cases.change_claim", "cases.delete_claim", "cases.change_consumer",
    "escalation.view_escalation", "escalation.add_escalation", "escalation.change_escalation",
    "escalation.view_deadline", "escalation.change_deadline", "escalation.view_ruleversion",
    "escalation.view_smallclaimslimit", "escalation.view_calendaryear",
]
SUPERVISOR = HANDLER + [
    "cases.add_platform", "cases.change_platform", "cases.change_merchant",
    "cases.view_apikey", "cases.add_apikey", "cases.change_apikey",
    "core.view_auditlog", "escalation.view_calendarday", "escalation.add_calendarday",
    "escalation.change_calendarday", "escalation.delete_calendarday",
    "escalation.add_ruleversion", "escalation.change_ruleversion",
    "escalation.add_smallclaimslimit", "escalation.change_smallclaimslimit",
    "escalation.add_calendaryear", "escalation.change_calendaryear",
]
ROLE_PERMISSIONS = {Role.INTAKE: INTAKE, Role.HANDLER: HANDLER, Role.SUPERVISOR: SUPERVISOR, Role.ANALYST: []}


def role_group(role: str) -> Group:
    group, _created = Group.objects.get_or_create(name=f"role:{role}")
    wanted = ROLE_PERMISSIONS.get(role, [])
    perms = []
    for dotted in wanted:
        app_label, codename = dotted.split(".")
        perm = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
        if perm is not None:
            perms.append(perm)
    group.permissions.set(perms)
    return group


def sync_role_group(user) -> None:
    """Put the user in exactly the group of its role."""
    user.groups.remove(*user.groups.filter(name__startswith="role:"))
    if user.role:
        user.groups.add(role_group(user.role))
