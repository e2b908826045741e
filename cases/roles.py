"""What each role may do in the Django admin, as Django groups (the API checks roles itself)."""

from django.contrib.auth.models import Group, Permission

from kameng_api.core.access import roles_for

from .codes import Role

# Django model permissions of the admin, each tied to an action of the one access table
# (kameng_api/core/access.py); a role's group holds the permissions whose action the role may take.
MODEL_PERMISSION_ACTIONS = {
    "cases.view_platform": "platform.read", "cases.view_merchant": "platform.read",
    "cases.add_platform": "platform.manage", "cases.change_platform": "platform.manage",
    "cases.add_merchant": "case.create", "cases.change_merchant": "platform.manage",
    "cases.view_case": "case.read", "cases.add_case": "case.create", "cases.change_case": "case.update",
    "cases.view_claim": "case.read", "cases.add_claim": "case.create", "cases.change_claim": "case.update",
    "cases.delete_claim": "case.update", "cases.view_consumer": "case.read", "cases.add_consumer": "case.create",
    "cases.change_consumer": "case.update", "cases.view_caseevent": "case.read",
    "evidence.view_evidence": "case.read", "evidence.add_evidence": "evidence.add",
    "escalation.view_escalation": "case.read", "escalation.add_escalation": "escalation.submit",
    "escalation.change_escalation": "escalation.answer", "escalation.view_deadline": "deadline.read",
    "escalation.change_deadline": "deadline.manage", "evidence.view_evidencetimestamp": "case.read",
    "cases.view_apikey": "apikey.manage", "cases.add_apikey": "apikey.manage", "cases.change_apikey": "apikey.manage",
    "core.view_auditlog": "auditlog.read",
    "escalation.view_calendarday": "calendar.read", "escalation.add_calendarday": "calendar.manage",
    "escalation.change_calendarday": "calendar.manage", "escalation.delete_calendarday": "calendar.manage",
    # the versioned rule table, the small-claims limits and the calendar years (supervisors keep them current)
    "escalation.view_ruleversion": "calendar.read", "escalation.add_ruleversion": "calendar.manage",
    "escalation.change_ruleversion": "calendar.manage",
    "escalation.view_smallclaimslimit": "calendar.read", "escalation.add_smallclaimslimit": "calendar.manage",
    "escalation.change_smallclaimslimit": "calendar.manage",
    "escalation.view_calendaryear": "calendar.read", "escalation.add_calendaryear": "calendar.manage",
    "escalation.change_calendaryear": "calendar.manage",
}
ROLE_PERMISSIONS = {
    role: [perm for perm, action in MODEL_PERMISSION_ACTIONS.items() if role in roles_for(action)]
    for role in Role.values
}


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
