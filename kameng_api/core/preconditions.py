"""HTTP preconditions of API.md ("Preconditions"), for every view in one place.

- A method the view does not implement is a 405 before any role check (a 403 would say "you may not"
  where the truth is "nobody can").
- A PATCH without If-Match is a 428: twenty parallel PATCHes must not all apply, each silently
  overwriting the others. A stale If-Match is a 409 (checked by the services under a row lock).
- ETags: `"<id>-<version>"` where the row counts its versions, else `"<id>-<updated_at in µs>"`.
"""

from django.utils.translation import gettext as _
from rest_framework.exceptions import MethodNotAllowed
from rest_framework.permissions import BasePermission

from .exceptions import PreconditionFailed, PreconditionRequired

IF_MATCH_METHODS = frozenset({"PATCH", "PUT"})


def implements(view, request) -> bool:
    method = request.method.lower()
    if method not in view.http_method_names:
        return False
    action_map = getattr(view, "action_map", None)
    if action_map is not None:
        return method in action_map or method == "options"
    return hasattr(view, method) or method in ("options", "head")


class MethodAllowed(BasePermission):
    """First of the permission classes: an unsupported method is 405 for everyone."""

    def has_permission(self, request, view):
        if not implements(view, request):
            raise MethodNotAllowed(request.method)
        return True


class IfMatchRequired(BasePermission):
    """After the role check (so an anonymous or unauthorized caller still gets 401/403)."""

    def has_permission(self, request, view):
        if request.method in IF_MATCH_METHODS and not request.headers.get("If-Match", "").strip():
            raise PreconditionRequired()
        return True


def etag_for(obj) -> str:
    version = getattr(obj, "version", None)
    if version is not None:
        return f'"{obj.pk}-{version}"'
    return f'"{obj.pk}-{int(obj.updated_at.timestamp() * 1_000_000)}"'


def check_if_match(obj, if_match: str | None, *, what: str) -> None:
    """A stale If-Match is a 409 (API.md); `*` matches any current version. None: not an HTTP caller
    (the admin, a task), which holds the row lock itself."""
    if if_match is None:
        return
    etag = etag_for(obj)
    tags = {tag.strip() for tag in if_match.split(",")}
    if not tags & {"*", etag, f"W/{etag}"}:
        raise PreconditionFailed(_("The %(what)s was changed by someone else (If-Match is stale); reload it and "
                                   "retry.") % {"what": what})
