from django import template

from kameng_api.core.access import may

from ..selectors import my_work as my_work_selector

register = template.Library()


@register.simple_tag(takes_context=True)
def my_work(context):
    """The "my work" block of the admin home, for staff who read cases."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not may(user, "case.read"):
        return None
    return my_work_selector(user=user)
