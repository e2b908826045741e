"""The analysts' page (`/analyst/`): statistics only, for the roles the stats API allows (analysts and
supervisors), signed in with Django's session login, not the admin.

Why a page of its own and not the admin: analysts are not staff (`is_staff` is False) and see no personal
data; opening the admin to them would hand them its whole surface (the app index, the case and consumer
pages guarded only by per-model access rules, the second-factor middleware written for staff) to show one
page. Here the only URLs are a login, a logout and this page; every figure comes from the same selectors as
`/api/v1/stats/…` with the same scope, and the download links point at those endpoints (session
authentication), so the files are the API's own.

Charts are SVG drawn on the server (`stats/charts.py`): no JavaScript library to vendor and keep patched,
no CDN, nothing to fetch at runtime; the browser draws the text, so the server needs no CJK fonts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlencode

from django import forms
from django.contrib import auth
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView, LogoutView
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases.codes import DisputeType, ProductType
from cases.models import Platform
from kameng_api.core.access import may
from kameng_api.core.second_factor import AdminLoginForm, second_factor_required
from kameng_api.core.security import LoginThrottle, throttled_response

from . import exports, rules, selectors
from .api.serializers import MAX_SPAN_DAYS
from .charts import hbar_chart, line_chart
from .reports import last_quarter

TOP_PLATFORMS = 15
TREND_PLATFORMS = 5
TABLE_ROWS = 100


class AnalystLoginForm(AdminLoginForm):
    """Username, password and (where required) the one-time code, like the admin; but the account must be
    one that reads statistics instead of a staff account."""

    error_messages = {
        **AdminLoginForm.error_messages,
        "invalid_login": gettext_lazy("Please enter the correct username and password of an account that "
                                      "reads statistics (analyst or supervisor)."),
    }

    def confirm_login_allowed(self, user):
        AuthenticationForm.confirm_login_allowed(self, user)  # active accounts only
        if not may(user, "stats.read"):
            raise ValidationError(self.error_messages["invalid_login"], code="invalid_login",
                                  params={"username": self.username_field.verbose_name})


class AnalystLoginView(LoginView):
    form_class = AnalystLoginForm
    template_name = "stats/analyst/login.html"
    redirect_authenticated_user = False

    def post(self, request, *args, **kwargs):
        throttle = LoginThrottle()  # the same bucket as the token and admin logins
        if not throttle.allow_request(request, None):
            return throttled_response(throttle.wait(), api=False)
        return super().post(request, *args, **kwargs)

    def get_default_redirect_url(self):
        return reverse("analyst")


class AnalystLogoutView(LogoutView):
    next_page = "analyst-login"


class FilterForm(forms.Form):
    """The page's query: period, product and dispute type, the platform of the trend and its interval."""

    date_from = forms.DateField(label=gettext_lazy("From"), required=False,
                                widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=gettext_lazy("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    product_type = forms.ChoiceField(label=gettext_lazy("Product type"), required=False,
                                     choices=[("", gettext_lazy("All"))] + list(ProductType.choices))
    dispute_type = forms.ChoiceField(label=gettext_lazy("Dispute type"), required=False,
                                     choices=[("", gettext_lazy("All"))] + list(DisputeType.choices))
    platform = forms.IntegerField(label=gettext_lazy("Platform of the trend"), required=False, min_value=1,
                                  max_value=2**62)
    interval = forms.ChoiceField(label=gettext_lazy("Interval"), required=False, choices=[
        ("month", gettext_lazy("month")), ("week", gettext_lazy("week"))])

    FIELD_NAMES = {"date_from": "from", "date_to": "to"}

    def __init__(self, data=None, **kwargs):
        # the page speaks the API's parameter names (?from=&to=) so its links and the API's agree
        if data is not None:
            data = {self.reverse_name(k): v for k, v in data.items()}
        super().__init__(data, **kwargs)

    @classmethod
    def reverse_name(cls, key: str) -> str:
        return {"from": "date_from", "to": "date_to"}.get(key, key)

    def clean(self):
        cleaned = super().clean()
        if self.errors or cleaned is None:
            return cleaned
        date_to = cleaned.get("date_to") or timezone.localdate()
        date_from = cleaned.get("date_from") or date_to - timedelta(days=364)
        if date_from > date_to:
            raise ValidationError({"date_from": _("'from' must not be after 'to'.")})
        if (date_to - date_from).days > MAX_SPAN_DAYS:
            raise ValidationError({"date_from": _("The period may span at most ten years.")})
        cleaned["date_from"], cleaned["date_to"] = date_from, date_to
        cleaned["interval"] = cleaned.get("interval") or "month"
        return cleaned


def _quarter_presets(today: date) -> list[tuple[str, date, date]]:
    first = date(today.year, (today.month - 1) // 3 * 3 + 1, 1)  # this quarter, so far
    presets = [(f"{first.year} Q{(first.month - 1) // 3 + 1}", first, today)]
    for _n in range(4):
        first, last = last_quarter(first)
        presets.append((f"{first.year} Q{(first.month - 1) // 3 + 1}", first, last))
    presets.append((_("This year"), date(today.year, 1, 1), today))
    presets.append((_("Last year"), date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)))
    presets.append((_("Last 365 days"), today - timedelta(days=364), today))
    return presets


@dataclass
class Row:
    rank: int | None
    platform: Platform
    figures: dict


def _rate_cell(rate: dict) -> dict:
    """What a table cell shows for a rate: the percentage and its counts, or the withheld text."""
    if rate["value"] is None:
        return {"text": exports.withheld_text(rate["denominator"]) if rate["withheld_reason"] else "—",
                "withheld": bool(rate["withheld_reason"]), "counts": f"{rate['numerator']}/{rate['denominator']}"}
    return {"text": f"{rate['value']:.1%}", "withheld": False, "counts": f"{rate['numerator']}/{rate['denominator']}"}


def _hours(duration: dict) -> dict:
    if duration["median"] is None:
        return {"text": exports.withheld_text(duration["count"]) if duration["withheld_reason"] else "—",
                "withheld": bool(duration["withheld_reason"]), "counts": f"n={duration['count']}"}
    return {"text": f"{duration['median'] / 60:.1f}", "withheld": False, "counts": f"n={duration['count']}"}


def _rate_rows(rows: list[Row], key: str) -> list[tuple[str, float | None, str | None]]:
    out = []
    for row in rows:
        rate = row.figures[key]
        reason = exports.withheld_text(rate["denominator"]) if rate["withheld_reason"] else None
        out.append((row.platform.name, rate["value"], reason or (None if rate["value"] is not None else _("no cases"))))
    return out


def _query_string(params: dict, **changes) -> str:
    merged = {**params, **changes}
    return urlencode({k: v for k, v in merged.items() if v not in (None, "")})


def _denied(request):
    response = render(request, "stats/analyst/denied.html", {"title": _("Not allowed")}, status=403)
    return response


def dashboard(request):
    """The statistics page. Anonymous → the login page; a role that may not read statistics → 403."""
    user = request.user
    login_url = reverse("analyst-login")
    if not user.is_authenticated:
        return HttpResponseRedirect(f"{login_url}?{urlencode({'next': request.get_full_path()})}")
    if second_factor_required(user) and not (hasattr(user, "is_verified") and user.is_verified()):
        auth.logout(request)  # a session that skipped the second factor (opened elsewhere) starts again
        return HttpResponseRedirect(f"{login_url}?{urlencode({'next': request.get_full_path()})}")
    if not may(user, "stats.read"):
        return _denied(request)
    form = FilterForm(request.GET)
    if not form.is_valid():
        return render(request, "stats/analyst/dashboard.html", {
            "title": _("Complaint statistics"), "form": form, "presets": [], "invalid": True,
            "scope": _scope_text(user), "values": {"from": request.GET.get("from", ""),
                                                    "to": request.GET.get("to", "")}}, status=400)
    data = form.cleaned_data
    national = rules.scope() == "national"
    filters = selectors.StatsFilter(date_from=data["date_from"], date_to=data["date_to"],
                                    product_type=data["product_type"] or None,
                                    dispute_type=data["dispute_type"] or None,
                                    organization_id=None if national else user.organization_id)
    context = _dashboard_context(filters, data)
    params = {"from": filters.date_from.isoformat(), "to": filters.date_to.isoformat(),
              "product_type": filters.product_type, "dispute_type": filters.dispute_type}
    api = "/api/v1/stats"
    chosen = context["chosen"]
    trend = {**params, "interval": data["interval"]}
    context.update({
        "form": form, "scope": _scope_text(user), "title": _("Complaint statistics"), "values": params,
        "presets": [(label, "?" + _query_string(params, **{"from": a.isoformat(), "to": b.isoformat()}))
                    for label, a, b in _quarter_presets(timezone.localdate())],
        "downloads": [
            (_("Per-platform table (XLSX)"), f"{api}/platforms/?{_query_string(params, format='xlsx')}"),
            (_("Per-platform table (CSV)"), f"{api}/platforms/?{_query_string(params, format='csv')}"),
            (_("Complaint analysis of the period (XLSX)"),
             f"{api}/report/?{_query_string({'from': params['from'], 'to': params['to']}, format='xlsx')}"),
            (_("Complaint analysis of the period (DOCX)"),
             f"{api}/report/?{_query_string({'from': params['from'], 'to': params['to']}, format='docx')}"),
            *([(_("Trend of %(platform)s (XLSX)") % {"platform": chosen.name},
                f"{api}/platforms/{chosen.id}/trend/?{_query_string(trend, format='xlsx')}"),
               (_("Trend of %(platform)s (CSV)") % {"platform": chosen.name},
                f"{api}/platforms/{chosen.id}/trend/?{_query_string(trend, format='csv')}")] if chosen else []),
        ],
        "report_note": _("The complaint analysis covers the period only: product and dispute type filters do "
                         "not apply to it.") if filters.product_type or filters.dispute_type else "",
        "filters_text": _filters_text(filters),
    })
    return render(request, "stats/analyst/dashboard.html", context)


def _scope_text(user) -> str:
    if rules.scope() == "national":
        return _("National: every organization's complaints")
    return _("Organization: the complaints of %(org)s") % {"org": user.organization.name}


def _filters_text(filters: selectors.StatsFilter) -> str:
    parts = [_("%(from)s to %(to)s") % {"from": filters.date_from, "to": filters.date_to}]
    if filters.product_type:
        parts.append(str(ProductType(filters.product_type).label))
    if filters.dispute_type:
        parts.append(str(DisputeType(filters.dispute_type).label))
    return " · ".join(parts)


def _dashboard_context(filters: selectors.StatsFilter, data: dict) -> dict:
    minimum = rules.min_sample()
    platforms = list(Platform.objects.order_by("name", "id").only("id", "name"))
    figures = selectors.platform_summaries(platform_ids=[p.id for p in platforms], filters=filters)
    with_complaints = sorted((p for p in platforms if figures[p.id]["complaints"]),
                             key=lambda p: (-figures[p.id]["complaints"], p.name))
    ranked, unranked, rank = [], [], 0
    for platform in with_complaints:
        complaints = figures[platform.id]["complaints"]
        if complaints >= minimum:
            rank += 1
            ranked.append(Row(rank, platform, figures[platform.id]))
        else:
            unranked.append(Row(None, platform, figures[platform.id]))
    table = [{
        "rank": row.rank, "platform": row.platform, "complaints": row.figures["complaints"],
        "rates": [_rate_cell(row.figures[key]) for key in
                  ("resolution_rate", "platform_response_rate", "platform_response_in_window_rate")],
        "durations": [_hours(row.figures["platform_response_minutes"]), _hours(row.figures["resolution_minutes"])],
        "amount": row.figures["amount_disputed"],
    } for row in (ranked + unranked)[:TABLE_ROWS]]
    top = (ranked + unranked)[:TOP_PLATFORMS]
    withheld_legend = _("insufficient sample: fewer than %(n)d cases, rate not computed") % {"n": minimum}
    charts = []
    if top:
        charts.append(hbar_chart(
            _("Complaints per platform (top %(n)d)") % {"n": len(top)}, x_label=_("Complaints (cases)"),
            y_label=_("Platform"), series_name=_("complaints opened in the period"),
            rows=[(row.platform.name, row.figures["complaints"], None) for row in top]))
        charts.append(hbar_chart(
            _("Resolution rate per platform"), x_label=_("Resolution rate (resolved / closed)"),
            y_label=_("Platform"), series_name=_("resolution rate"), percent=True, withheld_legend=withheld_legend,
            rows=_rate_rows(top, "resolution_rate")))
        charts.append(hbar_chart(
            _("Platform response rate per platform"),
            x_label=_("Platform response rate (answered / escalated to the platform)"), y_label=_("Platform"),
            series_name=_("platform response rate"), percent=True, withheld_legend=withheld_legend,
            rows=_rate_rows(top, "platform_response_rate")))
    chosen = next((p for p in platforms if p.id == data.get("platform")), None) or (top[0].platform if top else None)
    interval = data["interval"]
    x_label = _("Month") if interval == "month" else _("Week (starting Monday)")
    trend_rows = [row.platform for row in top[:TREND_PLATFORMS]]
    if chosen is not None and chosen not in trend_rows:
        trend_rows.append(chosen)
    series, labels, chosen_series = {}, [], []
    for platform in trend_rows:
        points = selectors.platform_trend(platform_id=platform.id, filters=filters, interval=interval)
        labels = [p["start"].strftime("%Y-%m") if interval == "month" else p["start"].isoformat() for p in points]
        series[platform.name] = [p["complaints"] for p in points]
        if platform == chosen:
            chosen_series = points
    if series:
        charts.append(line_chart(
            _("Complaints per %(interval)s, largest platforms") % {"interval": _(interval)},
            x_label=x_label, y_label=_("Complaints (cases)"), labels=labels, series=series))
    if chosen is not None:
        names = {"resolution_rate": _("resolution rate"), "platform_response_rate": _("platform response rate"),
                 "platform_response_in_window_rate": _("answered in time")}
        charts.append(line_chart(
            _("%(platform)s: resolution and platform response rates per %(interval)s") % {
                "platform": chosen.name, "interval": _(interval)},
            x_label=x_label, y_label=_("Rate"), labels=labels, percent=True, withheld_legend=withheld_legend,
            series={names[k]: [p[k]["value"] for p in chosen_series] for k in names},
            withheld={names[k]: [exports.withheld_text(p[k]["denominator"]) if p[k]["withheld_reason"] else None
                                 for p in chosen_series] for k in names}))
    totals = {"complaints": sum(figures[p.id]["complaints"] for p in platforms),
              "platforms": len(with_complaints), "ranked": len(ranked), "unranked": len(unranked)}
    return {"charts": charts, "table": table, "platforms": platforms, "chosen": chosen, "min_sample": minimum,
            "totals": totals, "filters": filters,
            "withheld_why": _("A rate is withheld when fewer than %(n)d cases stand behind it (its denominator): "
                              "2 resolved out of 2 is not read as 100 %%. A platform with fewer than %(n)d "
                              "complaints is listed but not ranked.") % {"n": minimum}}
