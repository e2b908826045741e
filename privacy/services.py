"""Retention (PIPL art. 19; Cybersecurity Law art. 21) and the person's rights (PIPL arts. 44-47).

Nothing here writes a consumer's value to a log, an audit row, an error or a task message: audit rows carry
which fields and how many records, the values stay in the encrypted columns (or are gone)."""

import io
import json
import logging
import zipfile
from datetime import datetime, timedelta
from typing import Any

from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Exists, Max, OuterRef, Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.codes import OPEN_STATUSES
from cases.masking import mask_name
from cases.models import DERIVED_COLUMNS, Case, Consumer, Organization
from cases.selectors import consumers_matching
from kameng_api.core.actors import Actor, ActorLike
from kameng_api.core.audit import audit_record
from kameng_api.core.exceptions import Conflict
from kameng_api.core.models import AuditLog

from . import rules
from .models import PrivacySettings, RetentionRun

logger = logging.getLogger("kameng.privacy")

PERSONAL_FIELDS = ("name", "phone", "id_number", "payment_account")


def settings_for(organization_id: int) -> PrivacySettings:
    """The organization's settings, or the defaults (unsaved) if it never changed them."""
    return (PrivacySettings.objects.filter(organization_id=organization_id).first()
            or PrivacySettings(organization_id=organization_id))


# --- anonymization -----------------------------------------------------------------------------------------

def anonymized_name(name: str) -> str:
    """张三 -> 张*: the surname stays (statistics by nothing personal), the rest is gone."""
    return mask_name((name or "").strip()[:1]) if name else "*"


def _delete_evidence_files(consumer_ids: list[int]) -> int:
    from evidence.models import Evidence  # evidence sits beside privacy: imported where needed

    deleted = 0
    for name in Evidence.objects.filter(case__consumer_id__in=consumer_ids).values_list("file", flat=True):
        if name and default_storage.exists(name):
            default_storage.delete(name)
            deleted += 1
    return deleted


def consumers_anonymize(*, consumer_ids: list[int], now: datetime | None = None,
                        evidence_files: str = rules.EvidenceFiles.KEEP) -> tuple[int, int]:
    """Anonymize these consumers: name -> 张*, phone, ID number and payment account removed, blind indexes
    dropped. Cases, claims, events and statistics are untouched. Returns (consumers, evidence files deleted)."""
    now = now or timezone.now()
    done = files = 0
    for start in range(0, len(consumer_ids), rules.BATCH):
        batch = consumer_ids[start:start + rules.BATCH]
        with transaction.atomic():
            rows = list(Consumer.objects.select_for_update().filter(pk__in=batch, anonymized_at__isnull=True))
            for row in rows:
                row.name = anonymized_name(row.name)
                row.phone = row.id_number = row.payment_account = ""
                row.anonymized_at = now
                row.set_derived()
            Consumer.objects.bulk_update(rows, [*PERSONAL_FIELDS, "anonymized_at", *DERIVED_COLUMNS])
            done += len(rows)
        if evidence_files == rules.EvidenceFiles.DELETE and rows:
            files += _delete_evidence_files([r.pk for r in rows])
    return done, files


def due_consumers(*, organization_id: int, closed_before: datetime) -> list[int]:
    """Consumers of the organization, not yet anonymized, with no open case and every case closed before
    `closed_before`."""
    open_case = Case.objects.filter(consumer_id=OuterRef("pk")).filter(
        Q(status__in=OPEN_STATUSES) | Q(closed_at__isnull=True))
    return list(
        Consumer.objects.filter(organization_id=organization_id, anonymized_at__isnull=True)
        .annotate(has_open=Exists(open_case), last_closed=Max("cases__closed_at"))
        .filter(has_open=False, last_closed__lt=closed_before)
        .order_by("pk").values_list("pk", flat=True)
    )


def retention_run(*, now: datetime | None = None) -> list[RetentionRun]:
    """What beat runs nightly: for each organization, anonymize the consumers whose cases closed longer ago
    than its setting, delete evidence files if it says so, and purge audit rows older than its audit period
    (never under six months). One RetentionRun per organization records the counts."""
    now = now or timezone.now()
    runs = []
    for org_id in Organization.objects.order_by("pk").values_list("pk", flat=True):
        conf = settings_for(org_id)
        closed_before = now - timedelta(days=conf.anonymize_after_days)
        run = RetentionRun.objects.create(organization_id=org_id, started_at=timezone.now(),
                                          closed_before=closed_before)
        run.consumers_anonymized, run.evidence_files_deleted = consumers_anonymize(
            consumer_ids=due_consumers(organization_id=org_id, closed_before=closed_before), now=now,
            evidence_files=conf.evidence_files)
        keep_days = max(conf.audit_log_days, rules.AUDIT_LOG_MIN_DAYS)
        run.audit_rows_deleted, _by_model = AuditLog.objects.filter(
            organization_id=org_id, at__lt=now - timedelta(days=keep_days)).delete()
        run.finished_at = timezone.now()
        run.save()
        runs.append(run)
        logger.info("retention run for organization %s: %s consumers anonymized, %s evidence files deleted, "
                    "%s audit rows deleted", org_id, run.consumers_anonymized, run.evidence_files_deleted,
                    run.audit_rows_deleted)
    return runs


# --- the person's rights (PIPL arts. 44-47) ----------------------------------------------------------------

def subject_consumers(*, actor: ActorLike, phone: str = "", id_number: str = "") -> list[Consumer]:
    """The consumer records of the actor's organization that are this person (by phone or ID number)."""
    organization_id = Actor.of(actor).organization_id
    found = Consumer.objects.none()
    if phone:
        found = found | consumers_matching(kind="phone", value=phone, organization_id=organization_id)
    if id_number:
        found = found | consumers_matching(kind="id_number", value=id_number, organization_id=organization_id)
    return list(found.order_by("pk"))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _case_record(case: Case) -> dict:
    return {
        "reference": case.reference, "status": case.status, "platform": case.platform.name,
        "merchant": case.merchant.name if case.merchant else "", "order_number": case.order_number,
        "product_type": case.product_type, "amount_paid": str(case.amount_paid),
        "dispute_type": case.dispute_type, "description": case.description,
        "claims": [{"kind": c.kind, "amount": str(c.amount) if c.amount is not None else None}
                   for c in case.claims.all()],
        "outcome": case.outcome, "resolution": case.resolution, "created_at": _iso(case.created_at),
        "closed_at": _iso(case.closed_at),
    }


def _evidence_list(case: Case) -> list[dict]:
    from evidence.models import Evidence

    return [{"sequence": e.sequence, "kind": e.kind, "original_name": e.original_name, "sha256": e.sha256,
             "size": e.size, "status": e.status, "captured_at": _iso(e.captured_at)}
            for e in Evidence.objects.filter(case=case).order_by("sequence")]


def _letters(case: Case) -> dict[str, str]:
    from escalation.letter import LetterError, letter_text
    from escalation.models import Escalation

    letters = {}
    channels = [None, *Escalation.objects.filter(case=case).order_by("submitted_at").values_list("channel", flat=True)]
    for channel in dict.fromkeys(channels):
        try:
            letters[channel or "recommended"] = letter_text(case, lang="zh-hans", channel=channel)
        except (LetterError, ValueError):
            continue
    return letters


def _access_audit(consumers: list[Consumer], cases: list[Case]) -> list[dict]:
    rows = AuditLog.objects.filter(
        Q(object_type="consumer", object_id__in=[str(c.pk) for c in consumers])
        | Q(object_type="case", object_id__in=[str(c.pk) for c in cases])
    ).select_related("actor_user", "actor_key").order_by("at")
    return [{"at": _iso(r.at), "action": r.action, "by": (r.actor_user.username if r.actor_user
                                                          else f"api-key:{r.actor_key.prefix}" if r.actor_key else ""),
             "detail": r.detail, "ip_address": r.ip_address} for r in rows]


def subject_export(*, actor: ActorLike, consumers: list[Consumer], request: HttpRequest | None = None
                   ) -> tuple[bytes, int]:
    """Everything held about the person (PIPL art. 45) as a ZIP: their data, each case, its evidence list,
    its letters and who read their data when. Returns (zip bytes, number of cases). The export is audited."""
    cases = list(Case.objects.filter(consumer__in=consumers).select_related("platform", "merchant", "consumer")
                 .prefetch_related("claims").order_by("created_at"))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        def put(name: str, data: Any) -> None:
            archive.writestr(name, json.dumps(data, ensure_ascii=False, indent=2, default=str))

        put("about.json", {
            "about": _("Personal information held about one person (PIPL art. 45)."),
            "generated_at": _iso(timezone.now()), "organization": str(Actor.of(actor).organization),
            "records": len(consumers), "cases": len(cases),
        })
        put("personal_data.json", [
            {"name": c.name, "phone": c.phone, "id_number": c.id_number, "payment_account": c.payment_account,
             "anonymized_at": _iso(c.anonymized_at), "cases": [k.reference for k in cases if k.consumer_id == c.pk]}
            for c in consumers])
        for case in cases:
            put(f"cases/{case.reference}/case.json", _case_record(case))
            put(f"cases/{case.reference}/evidence.json", _evidence_list(case))
            for channel, text in _letters(case).items():
                archive.writestr(f"cases/{case.reference}/letters/{channel}.txt", text)
        put("access_log.json", _access_audit(consumers, cases))
    for consumer in consumers:
        audit_record(actor=actor, action="pii_export", obj=consumer, request=request,
                     detail={"cases": [k.reference for k in cases if k.consumer_id == consumer.pk]})
    return buffer.getvalue(), len(cases)


def subject_correct(*, actor: ActorLike, consumers: list[Consumer], data: dict,
                    request: HttpRequest | None = None) -> int:
    """Correct the person's data in every record (PIPL art. 46), closed cases included. Audited with the
    names of the fields changed, not their values."""
    fields = sorted(k for k in data if k in PERSONAL_FIELDS)
    with transaction.atomic():
        for consumer in Consumer.objects.select_for_update().filter(pk__in=[c.pk for c in consumers]):
            if consumer.anonymized_at is not None:
                raise Conflict(_("This person's data was already erased; there is nothing to correct."),
                               code="already_erased")
            for field in fields:
                setattr(consumer, field, data[field])
            consumer.save()
            audit_record(actor=actor, action="pii_correct", obj=consumer, request=request,
                         detail={"fields": fields})
    return len(consumers)


def subject_erase(*, actor: ActorLike, consumers: list[Consumer], request: HttpRequest | None = None) -> int:
    """Erase the person's data (PIPL art. 47) where no legal duty to keep it applies: a case still open is
    being handled and its record must stay complete (refused: 409 legal_hold). The erasure anonymizes like
    the retention task and is audited without the erased values."""
    ids = [c.pk for c in consumers]
    open_refs = list(Case.objects.filter(consumer_id__in=ids, status__in=OPEN_STATUSES)
                     .values_list("reference", flat=True))
    if open_refs:
        raise Conflict(
            _("The person's data is still needed for open cases (%(refs)s): close them first, then erase.")
            % {"refs": ", ".join(open_refs[:10])}, code="legal_hold")
    organization_id = Actor.of(actor).organization_id
    # No organization (a superuser): no saved settings, the defaults.
    conf = settings_for(organization_id) if organization_id is not None else PrivacySettings()
    done, files = consumers_anonymize(consumer_ids=ids, evidence_files=conf.evidence_files)
    for consumer in consumers:
        audit_record(actor=actor, action="pii_erase", obj=consumer, request=request,
                     detail={"fields": list(PERSONAL_FIELDS), "evidence_files_deleted": files})
    return done
