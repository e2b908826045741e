"""Evidence in the admin. Rows are never edited or deleted here; files come in through the same streaming
pipeline as the API (`EvidenceUploadHandler`: size limit while streaming, hashing in the same pass, type
sniffed from the bytes, the chain) and leave only through views that check the organization and write the
audit row, because media files are never served publicly."""

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone, translation
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from cases.admin import WORKPLACE_VIEWS, case_events, workplace
from cases.admin_workplace import CaseAction, LocalDateTimeField, cached, now_local, service_messages
from kameng_api.core.admin import OrganizationScopedAdmin, ReadOnlyAdminMixin
from kameng_api.core.audit import audit_record
from kameng_api.core.exceptions import DomainError

from . import bundle, filetypes, selectors, services
from .codes import EvidenceKind, EvidenceStatus
from .completeness import completeness
from .models import Evidence, EvidenceRevocation, EvidenceTimestamp
from .storage import open_stored
from .timeline import timeline
from .uploads import EvidenceUploadHandler

PREVIEWABLE = frozenset(filetypes.IMAGE) - {"image/heic"}
OPENABLE = PREVIEWABLE | frozenset(filetypes.PDF) | frozenset(filetypes.TEXT) | frozenset(filetypes.JSON)
FIELDS = ["sequence", "kind", "stage", "preview", "original_name", "content_type", "size", "occurred_at",
          "captured_at", "uploaded_by_label", "description", "status", "withdraw_reason", "sha256", "entry_hash"]
MAX_FILES = 20
BLANK: list[tuple[str, Any]] = [("", "---------")]


@admin.display(description=_("preview"))
def preview(obj):
    if obj is None or not obj.pk or filetypes.base_type(obj.content_type) not in PREVIEWABLE:
        return "—"
    url = reverse("admin:evidence_evidence_preview", args=[obj.pk])
    return format_html('<a href="{}" target="_blank" rel="noopener"><img src="{}" alt="" class="km-thumb" '
                       'loading="lazy"></a>', url, url)


def timestamp_status(obj):
    if obj is None or not obj.pk:
        return "—"
    return selectors.timestamp_status(selectors.item_timestamp(obj))["label"]


@admin.register(Evidence)
class EvidenceAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin):
    access = {"view": "case.read"}
    list_display = ["id", "case", "sequence", "kind", "status", "content_type", "size", "occurred_at",
                    "captured_at", "short_hash", "timestamp_status"]
    list_filter = ["status", "kind", "stage"]
    search_fields = ["case__reference", "sha256", "original_name"]
    list_select_related = ["case", "timestamp"]
    fields = readonly_fields = ("case", "supersedes", *FIELDS, "prev_hash")

    @admin.display(description=_("preview"))
    def preview(self, obj):
        return preview(obj)

    @admin.display(description=_("SHA-256"))
    def short_hash(self, obj):
        return format_html('<span class="km-hash" title="{}">{}…</span>', obj.sha256, obj.sha256[:12])

    @admin.display(description=_("trusted timestamp"))
    def timestamp_status(self, obj):
        return timestamp_status(obj)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [path("<int:pk>/preview/", view(self.preview_view), name="evidence_evidence_preview"),
                path("<int:pk>/file/", view(self.file_view), name="evidence_evidence_file"),
                *super().get_urls()]

    def _item(self, request, pk):
        if not self.has_view_permission(request):
            raise Http404
        obj = self.get_queryset(request).select_related("case").filter(pk=pk).first()
        if obj is None:
            raise Http404
        return obj

    def preview_view(self, request, pk):
        """Images only, for staff allowed to view this evidence in their organization."""
        obj = self._item(request, pk)
        if filetypes.base_type(obj.content_type) not in PREVIEWABLE:
            raise Http404
        response = FileResponse(open_stored(obj.file.name), content_type=obj.content_type)
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        response["Cache-Control"] = "private, no-store"
        return response

    def file_view(self, request, pk):
        """Open (images, PDF, text shown by the browser) or download (`?download=1`, and always for HTML and
        video); every such read is audit-logged like the API's download."""
        obj = self._item(request, pk)
        try:
            handle = default_storage.open(obj.file.name, "rb")
        except FileNotFoundError:
            raise Http404 from None
        base = filetypes.base_type(obj.content_type)
        attachment = bool(request.GET.get("download")) or base not in OPENABLE
        audit_record(actor=request.user, action="evidence_download", obj=obj, request=request,
                     detail={"case": obj.case.reference, "via": "admin"})
        content_type = filetypes.DOWNLOAD_TYPE.get(base, obj.content_type)
        if filetypes.is_text(base):
            content_type = "text/plain; charset=utf-8" if base != "application/json" else "application/json"
        response = FileResponse(handle, as_attachment=attachment, filename=obj.original_name,
                                content_type=content_type)
        response["X-Content-Type-Options"] = "nosniff"
        if base != "application/pdf":  # a sandboxed PDF cannot be shown by the browser's viewer
            response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
        response["Cache-Control"] = "private, no-store"
        response["X-Evidence-SHA256"] = obj.sha256
        return response


@admin.register(EvidenceRevocation)
class EvidenceRevocationAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin):
    access = {"view": "case.read"}
    list_display = ["evidence", "case", "sequence", "action", "reason", "actor_label", "at"]
    fields = readonly_fields = ("case", "evidence", "sequence", "action", "reason", "replaced_by", "actor_label", "at", "prev_hash",
              "entry_hash")


# --- the case page: upload, supersede, withdraw -----------------------------------------------------------

class AdminUploadHandler(EvidenceUploadHandler):
    """The API's streaming handler, taking several `file` parts (the admin's multiple upload), each one
    streamed, hashed and size-checked on its own."""

    def new_file(self, field_name, *args, **kwargs):
        if field_name == "file" and len(self.created) < MAX_FILES:
            self.received = False
        return super().new_file(field_name, *args, **kwargs)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            if not data and self.required:
                raise ValidationError(self.error_messages["required"], code="required")
            return [single(item, initial) for item in data]
        return [single(data, initial)]


class UploadForm(forms.Form):
    file = MultipleFileField(label=_("files"), help_text=_(
        "One or several files (images, PDF, video, text exports); each is hashed and added to the chain."))
    kind = forms.ChoiceField(label=_("kind"), choices=BLANK + EvidenceKind.choices)
    occurred_at = LocalDateTimeField(label=_("when it happened (what the file shows)"))
    description = forms.CharField(label=_("description"), required=False, max_length=2000,
                                  widget=forms.Textarea(attrs={"rows": 2}))


class StreamingUpload:
    """Install the streaming handler before the body is read; remove what was not adopted afterwards."""

    multipart = True

    def prepare_request(self, request):
        handler = AdminUploadHandler(request)
        try:
            request.upload_handlers = [handler]
        except AttributeError:
            return
        request._km_upload_handler = handler

    def finish_request(self, request):
        handler = getattr(request, "_km_upload_handler", None)
        if handler is not None:
            handler.cleanup()

    def make_form(self, request, case, data=None, files=None):
        if data is not None and files is not None:
            files = files.copy()
            uploads = request.FILES.getlist("file")
            if uploads:
                files.setlist("file", uploads)
        return super().make_form(request, case, data, files)  # type: ignore[misc]  # a mixin before CaseAction


@workplace.action
class UploadAction(StreamingUpload, CaseAction):
    name = "upload"
    label = _("Add evidence")
    access = "evidence.add"
    form_class = UploadForm
    order = 5
    atomic = False  # each file is one transaction of evidence_add: the accepted ones stay

    def initial(self, request, case):
        return {"occurred_at": now_local()}

    def run(self, request, case, data):
        added: list[Evidence] = []
        refused: list[str] = []
        for upload in data["file"]:
            try:
                item = services.evidence_add(actor=request.user, case=case, upload=upload, kind=data["kind"],
                                             occurred_at=data["occurred_at"], description=data["description"])
            except (ValidationError, DomainError) as exc:
                refused.extend(f"{upload.name}: {message}" for message in service_messages(exc))
            else:
                added.append(item)
        if added:
            messages.success(request, _("%(n)s file(s) added to the evidence.") % {"n": len(added)})
        if refused:
            raise ValidationError({"file": refused})
        return added

    def success(self, request, case, result):
        return str(_("The evidence chain now has %(n)s more item(s).") % {"n": len(result)})


def active_items(case):
    return case.evidence.filter(status=EvidenceStatus.ACTIVE).order_by("sequence")


def item_label(item):
    return f"#{item.sequence} {item.get_kind_display()} · {item.original_name}"


class SupersedeForm(forms.Form):
    supersedes = forms.ModelChoiceField(label=_("item to replace"), queryset=Evidence.objects.none())
    file = forms.FileField(label=_("corrected file"))
    kind = forms.ChoiceField(label=_("kind"), choices=BLANK + EvidenceKind.choices)
    occurred_at = LocalDateTimeField(label=_("when it happened (what the file shows)"))
    reason = forms.CharField(label=_("reason"), max_length=1000)

    def __init__(self, *args, case=None, **kwargs):
        super().__init__(*args, **kwargs)
        field = cast(forms.ModelChoiceField, self.fields["supersedes"])
        field.queryset = active_items(case)
        field.label_from_instance = item_label  # type: ignore[method-assign]  # as Django documents


@workplace.action
class SupersedeAction(StreamingUpload, CaseAction):
    name = "supersede"
    label = _("Replace an item")
    access = "evidence.supersede"
    form_class = SupersedeForm
    order = 6

    def available(self, user, case):
        return case.is_open and has_active_items(case)

    def form_kwargs(self, request, case):
        return {"case": case}

    def initial(self, request, case):
        return {"occurred_at": now_local()}

    def make_form(self, request, case, data=None, files=None):
        if data is not None and files is not None:
            files = files.copy()
            uploads = request.FILES.getlist("file")
            if uploads:
                files["file"] = uploads[0]
        return CaseAction.make_form(self, request, case, data, files)

    def run(self, request, case, data):
        return services.evidence_add(actor=request.user, case=case, upload=data["file"], kind=data["kind"],
                                     occurred_at=data["occurred_at"], supersedes_id=data["supersedes"].pk,
                                     reason=data["reason"])


class WithdrawForm(forms.Form):
    evidence = forms.ModelChoiceField(label=_("item to withdraw"), queryset=Evidence.objects.none())
    reason = forms.CharField(label=_("reason"), max_length=1000)

    def __init__(self, *args, case=None, **kwargs):
        super().__init__(*args, **kwargs)
        field = cast(forms.ModelChoiceField, self.fields["evidence"])
        field.queryset = active_items(case)
        field.label_from_instance = item_label  # type: ignore[method-assign]  # as Django documents


@workplace.action
class WithdrawAction(CaseAction):
    name = "withdraw"
    label = _("Withdraw an item")
    access = "evidence.withdraw"
    form_class = WithdrawForm
    style = "danger"
    order = 7

    def available(self, user, case):
        return case.is_open and has_active_items(case)

    def form_kwargs(self, request, case):
        return {"case": case}

    def run(self, request, case, data):
        return services.evidence_withdraw(actor=request.user, evidence=data["evidence"], reason=data["reason"])


# --- the case page: what the case needs -------------------------------------------------------------------

def case_evidence(case) -> list:
    """The case's evidence, read once per page for every panel."""
    return cached(case, "evidence", lambda: list(case.evidence.select_related("supersedes").order_by("sequence")))


def has_active_items(case) -> bool:
    return any(item.status == EvidenceStatus.ACTIVE for item in case_evidence(case))


@workplace.panel(10)
def completeness_panel(request, case):
    kinds = {e.kind for e in case_evidence(case) if e.status == EvidenceStatus.ACTIVE}
    result = completeness(case.dispute_type, kinds)
    return {"template": "admin/evidence/panel_completeness.html", "title": _("Is the evidence complete?"),
            "id": "completeness", "result": result}


@workplace.panel(25)
def evidence_panel(request, case):
    rows = []
    stamps = {s.evidence_id: s for s in EvidenceTimestamp.objects.filter(case=case, evidence__isnull=False)}
    for item in case_evidence(case):
        base = filetypes.base_type(item.content_type)
        rows.append({"item": item, "previewable": base in PREVIEWABLE, "openable": base in OPENABLE,
                     "stamp": selectors.timestamp_status(stamps.get(item.pk))})
    return {"template": "admin/evidence/panel_evidence.html", "title": _("Evidence"), "id": "evidence",
            "rows": rows, "wide": True}


@workplace.panel(70)
def timeline_panel(request, case):
    data = timeline(case, case_evidence(case), case_events(case))
    return {"template": "admin/evidence/panel_timeline.html", "title": _("Timeline and gaps"), "id": "timeline",
            "events": data["events"], "gaps": data["gaps"], "wide": True}


@workplace.panel(80)
def chain_panel(request, case):
    """The chain recomputed from the rows (cheap); re-hashing every stored file is one click away."""
    result = selectors.chain_verify(case, check_files=False)
    return {"template": "admin/evidence/panel_chain.html", "title": _("Evidence chain and bundle"), "id": "chain",
            "result": result, "langs": ("zh-hans", "en")}


def verify_view(model_admin):
    def view(request, object_id):
        case = _case(model_admin, request, object_id)
        result = selectors.chain_verify(case)
        audit_record(actor=request.user, action="chain_verify", obj=case, request=request,
                     detail={"intact": result["intact"]})
        context = {**model_admin.admin_site.each_context(request), "opts": model_admin.model._meta, "case": case,
                   "original": case, "result": result, "checked_at": timezone.now(),
                   "title": _("Chain check of %(ref)s") % {"ref": case.reference}}
        return TemplateResponse(request, "admin/evidence/verify.html", context)
    return view


def bundle_view(model_admin):
    def view(request, object_id):
        """The same ZIP as the API's bundle/ (manifest, files, timeline, letter), streamed."""
        case = _case(model_admin, request, object_id)
        lang = request.GET.get("lang") or translation.get_language() or "zh-hans"
        lang = "en" if lang.startswith("en") else "zh-hans"
        parts = selectors.bundle_contents(case, lang)
        audit_record(actor=request.user, action="bundle_download", obj=case, request=request,
                     detail={"case": case.reference, "via": "admin"})
        response = StreamingHttpResponse(bundle.stream(**parts), content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="{case.reference}-bundle.zip"'
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-store"
        return response
    return view


def _case(model_admin, request, object_id):
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    case = model_admin.get_queryset(request).select_related("platform", "consumer", "merchant") \
        .filter(pk=object_id).first() if str(object_id).isdigit() else None
    if case is None:
        raise Http404
    return case


WORKPLACE_VIEWS.extend([
    ("<path:object_id>/verify/", verify_view, "cases_case_verify"),
    ("<path:object_id>/bundle/", bundle_view, "cases_case_bundle"),
])


@admin.register(EvidenceTimestamp)
class EvidenceTimestampAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin):
    """Read-only: a token never changes. The one action asks for a failed or pending token again, at once."""

    access = {"view": "case.read"}
    organization_path = "case__organization"
    list_display = ["case", "subject", "sequence", "evidence", "status", "status_label", "gen_time", "tsa_name",
                    "attempts"]
    list_filter = ["status", "subject"]
    search_fields = ["case__reference", "digest", "serial"]
    list_select_related = ["case", "evidence"]
    fields = readonly_fields = ("case", "subject", "evidence", "sequence", "digest", "status", "status_label", "gen_time", "tsa_name",
              "tsa_url", "serial", "policy", "nonce", "attempts", "last_error", "next_attempt_at", "created_at",
              "token_size")
    actions = ["retry_now"]

    @admin.display(description=_("status"))
    def status_label(self, obj):
        return selectors.timestamp_status(obj)["label"]

    @admin.display(description=_("token size (bytes)"))
    def token_size(self, obj):
        return len(bytes(obj.token or b""))

    @admin.action(description=_("Request the timestamp again now (failed or pending only)"))
    def retry_now(self, request, queryset):
        count = services.timestamps_retry_now(actor=request.user, queryset=queryset)
        self.message_user(request, _("%(n)s timestamp(s) requested again.") % {"n": count}, messages.SUCCESS)
