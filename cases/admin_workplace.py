"""The case page as a workplace: actions (small forms that run one service) and panels (what the case
needs, read through the selectors). The cases app declares the mechanism and its own actions; the
evidence and escalation apps register theirs from their admin modules (they import cases, not the
other way round).

An action is offered only when the user's role may take it (the access table, `kameng_api/core/access.py`)
and the case's state allows it. The view runs the service inside one transaction: any error of the
service (a `ValidationError` with its fields, a `Conflict`, a `PermissionDenied`) is shown on the form, in
the user's language, and nothing is written.
"""

from __future__ import annotations

from contextlib import nullcontext

from django import forms
from django.contrib import messages
from django.contrib.admin.widgets import AdminDateWidget, AdminSplitDateTime, AdminTimeWidget
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from kameng_api.core.access import may
from kameng_api.core.errors import http_status
from kameng_api.core.exceptions import DomainError
from kameng_api.core.validators import not_in_future

DATETIME_HELP = _("Date YYYY-MM-DD and time HH:MM, Beijing time (Asia/Shanghai).")


class LocalSplitDateTime(AdminSplitDateTime):
    """The admin's calendar and clock pickers, showing the value as YYYY-MM-DD and HH:MM whatever the
    language's own date format."""

    def __init__(self, attrs=None):
        forms.MultiWidget.__init__(self, [AdminDateWidget(format="%Y-%m-%d"), AdminTimeWidget(format="%H:%M")],
                                   attrs)


class LocalDateTimeField(forms.SplitDateTimeField):
    """A date and a time with the admin's calendar and clock pickers, read in the site's time zone
    (Asia/Shanghai); the format is written under the field."""

    widget = LocalSplitDateTime

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("help_text", DATETIME_HELP)
        super().__init__(*args, **kwargs)

    def validate(self, value):
        """Every time entered here is when something happened: not in the future (the services' own clock
        skew allowed), reported with the form's other errors rather than after them."""
        super().validate(value)
        not_in_future(value)


def now_local():
    return timezone.localtime().replace(second=0, microsecond=0)


def add_service_errors(form: forms.Form, exc: Exception) -> None:
    """Put a service's refusal on the form: field errors on their fields (all of them), the rest on top."""
    if isinstance(exc, ValidationError):
        if hasattr(exc, "error_dict"):
            for field, errors in exc.message_dict.items():
                target = field if field in form.fields else None
                for message in errors:
                    form.add_error(target, message)
        else:
            for message in exc.messages:
                form.add_error(None, message)
        return
    form.add_error(None, str(exc))


def cached(case, key: str, load):
    """Rows of the case read once per page, shared by the actions' availability checks and the panels."""
    store = case.__dict__.setdefault("_km_cache", {})
    if key not in store:
        store[key] = load()
    return store[key]


def service_messages(exc: Exception) -> list[str]:
    """Every message of a service's refusal, as plain sentences."""
    if isinstance(exc, ValidationError):
        return list(exc.messages)
    return [str(exc)]


class CaseAction:
    """One move on a case. Subclasses set `name`, `label`, `access` (an action of the table) and `form_class`,
    and implement `run`; `available` adds the case's state."""

    name = ""
    label: str | Promise = ""
    access = ""
    form_class: type[forms.Form] = forms.Form
    style = ""  # "danger" for the moves that end something
    multipart = False
    order = 100
    # One transaction around `run` (a refusal writes nothing). The evidence upload keeps each accepted file
    # even when another one of the same request is refused, so it runs each file in its own transaction.
    atomic = True

    def allowed(self, user, case) -> bool:
        return may(user, self.access) and self.available(user, case)

    def available(self, user, case) -> bool:
        return case.is_open

    def form_kwargs(self, request, case) -> dict:
        return {}

    def initial(self, request, case) -> dict:
        return {}

    def make_form(self, request, case, data=None, files=None):
        return self.form_class(data, files, initial=self.initial(request, case), **self.form_kwargs(request, case))

    def run(self, request, case, data: dict):
        raise NotImplementedError

    def success(self, request, case, result) -> str:
        return str(_("Done: %(action)s.") % {"action": self.label})

    def prepare_request(self, request) -> None:
        """Before the body is read (e.g. the evidence upload installs its streaming handler)."""

    def finish_request(self, request) -> None:
        """After the response (e.g. temporary upload files not adopted are removed)."""


class Workplace:
    """The registry the case admin reads: actions and panels, from every app."""

    def __init__(self):
        self.actions: dict[str, CaseAction] = {}
        self.panels: list = []

    def action(self, cls):
        instance = cls()
        self.actions[instance.name] = instance
        return cls

    def panel(self, order: int):
        def register(func):
            self.panels.append((order, func))
            self.panels.sort(key=lambda item: item[0])
            return func
        return register

    def offered(self, user, case) -> list[CaseAction]:
        return sorted((a for a in self.actions.values() if a.allowed(user, case)), key=lambda a: a.order)


workplace = Workplace()


def action_endpoint(model_admin):
    """The URL's view: the action prepares the request before anything reads the body (the CSRF check
    reads the form), then the CSRF check, then `action_view`."""

    def endpoint(request, object_id, name):
        action = workplace.actions.get(name)
        if action is not None and request.method == "POST":
            action.prepare_request(request)
            try:
                request.POST  # noqa: B018 - parse the body now: a file over the limit stops here, with a 413
            except DomainError as exc:  # the file over the limit, the store down: no form to show it on yet
                action.finish_request(request)
                return HttpResponse(str(exc), status=http_status(exc), content_type="text/plain; charset=utf-8")
        return csrf_protect(lambda req: action_view(model_admin, req, object_id, name))(request)

    return csrf_exempt(endpoint)


def action_view(model_admin, request, object_id, name):
    """GET: the action's form; POST: run it. 404 for a case outside the user's organization, 403 for a move
    the role may not make, 409-like form error when the case's state no longer allows it."""
    action = workplace.actions.get(name)
    if action is None:
        raise Http404
    case = model_admin.get_queryset(request).filter(pk=object_id).first() if str(object_id).isdigit() else None
    if case is None:
        raise Http404
    if not may(request.user, action.access):
        raise PermissionDenied
    if request.method == "POST":
        try:
            form = action.make_form(request, case, request.POST, request.FILES)
            valid = form.is_valid()
            if not action.available(request.user, case):
                form.add_error(None, _("This move is not possible in the case's current state."))
            elif valid:
                try:
                    with transaction.atomic() if action.atomic else nullcontext():
                        result = action.run(request, case, form.cleaned_data)
                except (ValidationError, DomainError, PermissionDenied) as exc:
                    add_service_errors(form, exc)
                else:
                    response = result if isinstance(result, TemplateResponse) else None
                    if response is not None:
                        return response
                    messages.success(request, action.success(request, case, result))
                    return HttpResponseRedirect(reverse("admin:cases_case_change", args=[case.pk]))
        finally:
            action.finish_request(request)
    else:
        form = action.make_form(request, case)
    context = {
        **model_admin.admin_site.each_context(request),
        "title": f"{action.label} · {case.reference}",
        "opts": model_admin.model._meta,
        "original": case,
        "case": case,
        "action": action,
        "form": form,
        "has_view_permission": True,
    }
    return TemplateResponse(request, "admin/cases/case/action.html", context)
