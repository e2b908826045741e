"""Bulk loading of benchmark cases: COPY on PostgreSQL, executemany in big batches on SQLite.

Rows are written straight into the tables (the services would take hours for a million cases), with
the shapes the services write: a consumer per case, one claim, the open clocks of open cases, alerts on
part of them, a few evidence items on the newest cases. Django must be set up by the caller.
"""

import random
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

ORG_SLUG = "bench-national"
PASSWORD = "bench-password-2026"  # noqa: S105 - a throwaway benchmark account
PLATFORMS = 20
MERCHANTS_PER_PLATFORM = 50
HANDLERS = 20
EVIDENCE_CASES = 5_000
START = datetime(2024, 1, 1, tzinfo=UTC)
PER_YEAR = 900_000

STATUS_WEIGHTS = {
    "intake": 10, "collecting_evidence": 15, "negotiating": 15, "platform_review": 10, "third_party": 8,
    "legal": 2, "resolved": 30, "rejected": 5, "withdrawn": 5,
}
OPEN = ("intake", "collecting_evidence", "negotiating", "platform_review", "third_party", "legal")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"


def ensure_fixture():
    """The organization, its staff, platforms and merchants; returns (org, handler, token, platforms)."""
    from knox.models import AuthToken

    from cases.models import Merchant, Organization, Platform, User
    from kameng_api.core.tokens import token_issue

    org, _ = Organization.objects.get_or_create(slug=ORG_SLUG, defaults={"name": "全国卡盟投诉中心(基准)"})
    handlers = []
    for i in range(HANDLERS):
        user, created = User.objects.get_or_create(
            username=f"bench-handler-{i}",
            defaults={"organization": org, "role": "handler", "is_staff": True, "email": f"h{i}@bench.local"})
        if created:
            user.set_password(PASSWORD)
            user.save(update_fields=["password"])
        handlers.append(user)
    # A fresh staff token (stored hashed; shown once). The earlier runs' tokens go: the token check reads
    # all of a user's tokens on every request, so they would make each run's requests slower than the last.
    AuthToken.objects.filter(user=handlers[0]).delete()
    _row, token = token_issue(user=handlers[0])
    platforms = []
    for p in range(PLATFORMS):
        platform, _ = Platform.objects.get_or_create(name=f"基准卡盟{p:02d}",
                                                     defaults={"domains": [f"km{p:02d}.example.cn"]})
        platforms.append(platform)
        if not Merchant.objects.filter(platform=platform).exists():
            Merchant.objects.bulk_create([Merchant(platform=platform, name=f"店铺{p:02d}-{m:03d}")
                                          for m in range(MERCHANTS_PER_PLATFORM)])
    return org, handlers, token, platforms


def loaded_cases(org) -> int:
    from cases.models import Case

    return Case.objects.filter(organization=org).count()


def order_number(i: int) -> str:
    """18 digits that look random, like a marketplace's order numbers (unique: a bijection of i)."""
    return f"{(i * 791_900_000_000_003 + 104_729) % 10**18:018d}"


def reference(i: int) -> str:
    return f"KM-{2024 + i // PER_YEAR}-{i % PER_YEAR:06d}"


def created_at(i: int, n: int) -> datetime:
    """Spread evenly over the years the references cover, oldest first."""
    years = max(1, -(-n // PER_YEAR))
    span = timedelta(days=365 * years)
    return START + span * (i / max(n, 1))


class Writer:
    """Rows to one table: COPY on PostgreSQL, executemany in batches elsewhere."""

    def __init__(self, connection, table: str, columns: list[str]):
        self.connection, self.table, self.columns = connection, table, columns
        self.rows: list[tuple] = []
        self.copy = None
        self.count = 0
        self.fixed: tuple = ()
        if connection.vendor != "postgresql":
            self._fill_unnamed()
        if connection.vendor == "postgresql":
            cursor = connection.cursor().cursor  # the psycopg cursor under Django's wrapper
            cols = ", ".join(f'"{c}"' for c in columns)
            self._copy_cm = cursor.copy(f'COPY "{table}" ({cols}) FROM STDIN')
            self.copy = self._copy_cm.__enter__()

    def _fill_unnamed(self) -> None:
        """SQLite cannot be given column defaults after the fact (lenient_defaults): the NOT NULL columns this
        loader does not name get their model default ('' / false / {} when the model has none) in every row."""
        from django.apps import apps
        from django.db import models

        model = next(m for m in apps.get_models() if m._meta.db_table == self.table)
        extra_columns, values = [], []
        for f in model._meta.concrete_fields:
            if f.null or f.primary_key or f.column in self.columns:
                continue
            value = f.get_default() if f.has_default() else None
            if value is None:
                if isinstance(f, models.BooleanField):
                    value = False
                elif isinstance(f, models.JSONField):
                    value = {}
                elif isinstance(f, models.CharField | models.TextField):
                    value = ""
                else:
                    continue
            extra_columns.append(f.column)
            values.append(f.get_db_prep_save(value, self.connection))
        self.columns = [*self.columns, *extra_columns]
        self.fixed = tuple(values)

    def add(self, row: tuple) -> None:
        row = row + self.fixed if self.fixed else row
        self.count += 1
        if self.copy is not None:
            self.copy.write_row(row)
            return
        self.rows.append(row)
        if len(self.rows) >= 20_000:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            cols = ", ".join(f'"{c}"' for c in self.columns)
            marks = ", ".join(["%s"] * len(self.columns))
            with self.connection.cursor() as cursor:
                cursor.executemany(f'INSERT INTO "{self.table}" ({cols}) VALUES ({marks})',  # noqa: S608
                                   self.rows)
            self.rows = []

    def close(self) -> None:
        if self.copy is not None:
            self._copy_cm.__exit__(None, None, None)
            self.copy = None
        self.flush()


def lenient_defaults(connection, tables: list[str]) -> None:
    """Columns added since this loader was written (NOT NULL text, flags and JSON it does not name) default to
    '' / false / {} in the benchmark's database, so the COPY keeps working as the models grow."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = "
            "'public' AND table_name = ANY(%s) AND is_nullable = 'NO' AND column_default IS NULL "
            "AND data_type IN ('text', 'character varying', 'boolean', 'jsonb')", [tables])
        for table, column, data_type in cursor.fetchall():
            default = {"boolean": "false", "jsonb": "'{}'::jsonb"}.get(data_type, "''")
            cursor.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" SET DEFAULT {default}')


def next_id(model) -> int:
    from django.db.models import Max

    return (model.objects.aggregate(m=Max("pk"))["m"] or 0) + 1


def load(n: int, *, seed: int = 17, log=print) -> None:
    """Add cases to the benchmark organization until it holds `n`."""
    from django.db import connection, transaction

    from cases.masking import MASKS
    from cases.models import Case, Claim, Consumer, Merchant, ReferenceCounter
    from escalation.models import Deadline
    from evidence.models import Evidence
    from kameng_api.core import crypto
    from notifications.models import Alert

    org, handlers, _token, platforms = ensure_fixture()
    have = loaded_cases(org)
    if have >= n:
        log(f"reusing {have:,} loaded cases")
        return
    rng = random.Random(seed + have)
    merchants = {p.pk: list(Merchant.objects.filter(platform=p).values_list("pk", flat=True)) for p in platforms}
    statuses = list(STATUS_WEIGHTS)
    weights = list(STATUS_WEIGHTS.values())
    disputes = ["invalid_code", "not_as_described", "missing_function", "delivery_delay", "fake_delivery",
                "refund_refused", "account_recovered", "account_banned", "account_mismatch", "account_theft",
                "data_leak", "merchant_unreachable", "platform_shirking", "unfair_terms", "platform_absconded",
                "fraud"]
    products = ["game_card", "phone_recharge", "activation_key", "game_account", "virtual_currency",
                "membership", "other"]
    channels = ["alipay", "wechat", "bank_card", "credit_card", "platform_balance", "other"]
    case_cols = ["id", "reference", "order_number", "product_type", "face_value", "amount_paid", "payment_channel",
                 "purchased_at", "delivered_at", "problem_found_at", "dispute_type", "description",
                 "merchant_promise", "fraud_suspected", "status", "waiting_on_consumer", "outcome",
                 "amount_recovered", "resolution", "consumer_rating", "closed_at", "version", "created_at",
                 "updated_at", "assignee_id", "created_by_id", "filed_by_key_id", "consumer_id", "merchant_id",
                 "organization_id", "platform_id"]
    lenient_defaults(connection, [m._meta.db_table for m in (Consumer, Case, Claim, Deadline, Alert, Evidence)])
    started = time.perf_counter()
    case_id, consumer_id, claim_id = next_id(Case), next_id(Consumer), next_id(Claim)
    deadline_id, alert_id, evidence_id = next_id(Deadline), next_id(Alert), next_id(Evidence)
    with transaction.atomic():
        consumers = Writer(connection, Consumer._meta.db_table,
                           ["id", "name", "phone", "id_number", "payment_account", "organization_id",
                            "name_index", "phone_index", "id_number_index", "masked_name", "masked_phone",
                            "masked_id_number"])
        for i in range(have, n):
            name = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2))))
            phone = f"1{rng.randint(3, 9)}{rng.randint(0, 999_999_999):09d}"
            id_number = (f"11010519{rng.randint(60, 99)}0{rng.randint(1, 9)}0{rng.randint(1, 9)}"
                         f"{rng.randint(1000, 9999)}")
            # Stored as the service stores them (README "Personal data (PIPL)"): encrypted, with blind indexes.
            consumers.add((consumer_id + i - have, crypto.encrypt(name), crypto.encrypt(phone),
                           crypto.encrypt(id_number), "", org.pk, crypto.blind_index("name", name),
                           crypto.blind_index("phone", phone), crypto.blind_index("id_number", id_number),
                           MASKS["name"](name), MASKS["phone"](phone), MASKS["id_number"](id_number)))
        consumers.close()
        cases = Writer(connection, Case._meta.db_table, case_cols)
        open_cases = []
        for i in range(have, n):
            at = created_at(i, n)
            platform = platforms[i % len(platforms)]
            status = rng.choices(statuses, weights)[0]
            paid = Decimal(rng.randint(10, 200_000)) / 100
            closed = status not in OPEN
            pk = case_id + i - have
            cases.add((
                pk, reference(i), order_number(i), rng.choice(products), None, paid, rng.choice(channels),
                at - timedelta(days=3), at - timedelta(days=3, hours=-1), at - timedelta(days=1),
                rng.choice(disputes), "充值卡无法使用,商家拒绝退款。", "", False, status, False,
                "favourable" if status == "resolved" else "", paid if status == "resolved" else None, "",
                None, at + timedelta(days=20) if closed else None, 1, at, at + timedelta(days=1),
                rng.choice(handlers).pk if rng.random() < 0.5 else None, handlers[0].pk, None,
                consumer_id + i - have, rng.choice(merchants[platform.pk]), org.pk, platform.pk,
            ))
            if not closed:
                open_cases.append((pk, at))
        cases.close()
        claims = Writer(connection, Claim._meta.db_table, ["id", "kind", "amount", "unreasonable", "case_id"])
        for i in range(n - have):
            claims.add((claim_id + i, "refund", Decimal("100.00"), False, case_id + i))
        claims.close()
        deadlines = Writer(connection, Deadline._meta.db_table,
                           ["id", "kind", "starts_at", "due_at", "provisional", "status", "extension_reason",
                            "created_at", "updated_at", "case_id", "working_days", "clock_from", "clock_amount"])
        for j, (pk, at) in enumerate(open_cases):
            due = at + timedelta(days=15)
            deadlines.add((deadline_id + j, "platform_answer", at, due, False, "open", "", at, at, pk, 10, at, 10))
        deadlines.close()
        alerts = Writer(connection, Alert._meta.db_table,
                        ["id", "kind", "due_at", "fires_at", "acknowledged_by", "created_at", "case_id",
                         "deadline_id", "organization_id"])
        for j, (pk, at) in enumerate(open_cases):
            if j % 5 == 0:
                due = at + timedelta(days=15)
                alerts.add((alert_id + j // 5, "overdue", due, due, "", due, pk, deadline_id + j, org.pk))
        alerts.close()
        evidence = Writer(connection, Evidence._meta.db_table,
                          ["id", "sequence", "kind", "stage", "file", "original_name", "sha256", "size",
                           "content_type", "occurred_at", "captured_at", "uploaded_by_label", "description",
                           "status", "withdraw_reason", "prev_hash", "entry_hash", "case_id"])
        first = max(have, n - EVIDENCE_CASES)
        k = 0
        for i in range(first, n):
            at = created_at(i, n)
            prev = "0" * 64
            for seq, kind in enumerate(("order_screenshot", "payment_record", "chat_log"), start=1):
                digest = f"{i:032x}{seq:032x}"
                evidence.add((evidence_id + k, seq, kind, "transaction" if seq < 3 else "negotiation",
                              f"evidence/bench/{i}-{seq}.png", f"{kind}.png", digest, 1024, "image/png", at, at,
                              "bench-handler-0", "", "active", "", prev, digest, case_id + i - have))
                prev = digest
                k += 1
        evidence.close()
        for year in range(2024, 2024 + max(1, -(-n // PER_YEAR))):
            last = min(PER_YEAR, max(0, n - (year - 2024) * PER_YEAR))
            ReferenceCounter.objects.update_or_create(year=year, defaults={"last": last})
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for model in (Consumer, Case, Claim, Deadline, Alert, Evidence):
                table = model._meta.db_table
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "  # noqa: S608
                               f"(SELECT MAX(id) FROM \"{table}\"))")
        connection.set_autocommit(True)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    log(f"loaded {n - have:,} cases ({len(open_cases):,} open clocks) in {time.perf_counter() - started:.0f} s")
