from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from kameng_api.core.admin import OrganizationScopedAdmin, ReadOnlyAdminMixin

from . import services
from .models import Alert, Delivery, WebhookEndpoint


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin):
    access = {"view": "alert.read"}

    def get_urls(self):
        return [path("<int:pk>/ack/", self.admin_site.admin_view(self.ack_view), name="notifications_alert_ack"),
                *super().get_urls()]

    def ack_view(self, request, pk):
        """Acknowledge from "my work" (POST), through the API's service."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_view_permission(request):
            raise PermissionDenied
        alert = self.get_queryset(request).filter(pk=pk).first()
        if alert is None:
            raise Http404
        services.alert_ack(actor=request.user, alert=alert)
        messages.success(request, _("Alert acknowledged."))
        return HttpResponseRedirect(reverse("admin:index"))
    list_display = ["created_at", "case", "kind", "due_at", "acknowledged_at", "acknowledged_by"]
    list_filter = ["kind", ("acknowledged_at", admin.EmptyFieldListFilter)]
    search_fields = ["case__reference"]
    list_select_related = ["case"]
    raw_id_fields = ["case", "deadline"]
    date_hierarchy = "created_at"


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(OrganizationScopedAdmin):
    """The secret is never shown here (it was shown once, to the creator)."""

    access = {"view": "webhook.manage", "change": "webhook.manage"}

    list_display = ["url", "organization", "is_active", "consecutive_failures", "disabled_at", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["url", "description"]
    fields = ["organization", "url", "events", "description", "is_active", "consecutive_failures", "disabled_at",
              "disabled_reason", "created_by_key", "created_by_user", "created_at"]
    readonly_fields = ["organization", "consecutive_failures", "disabled_at", "disabled_reason",
                       "created_by_key", "created_by_user", "created_at"]

    def has_add_permission(self, request):
        return False  # created through the API, which shows the secret once

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)

        class Checked(form):  # type: ignore[valid-type, misc]  # the form class the admin built just now
            def clean_url(self):
                """The same address checks as the API (no private or internal addresses)."""
                try:
                    return services.webhook_url_check(self.cleaned_data["url"])
                except ValidationError as exc:
                    raise ValidationError(exc.message_dict.get("url", exc.messages)) from None

        return Checked

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in form.changed_data if name in form.cleaned_data}
        services.webhook_update(actor=request.user, endpoint=obj, data=data)


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin):
    """The delivery log: what was sent where, how many attempts, the last HTTP status and error."""

    access = {"view": "delivery.read"}

    list_display = ["created_at", "channel", "event_type", "recipient", "endpoint", "status", "attempts",
                    "last_status_code", "sent_at"]
    list_filter = ["status", "channel", "event_type"]
    search_fields = ["uid", "recipient", "endpoint__url", "last_error"]
    list_select_related = ["endpoint"]
    date_hierarchy = "created_at"
    readonly_fields = ["uid", "dedupe_key", "organization", "channel", "recipient", "event_type", "payload", "alert",
                       "case_event", "endpoint", "status", "attempts", "next_attempt_at", "last_status_code",
                       "last_error", "sent_at", "created_at", "updated_at"]
