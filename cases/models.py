"""Organizations, people and the case itself (PRODUCT.md, "cases")."""

from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from kameng_api.core.actors import Actor
from kameng_api.core.crypto import blind_index
from kameng_api.core.encrypted import EncryptedTextField
from kameng_api.core.fields import no_bidi_controls

from .codes import (
    PARTNER,
    ClaimKind,
    Deception,
    DisputeType,
    EventKind,
    Outcome,
    PaymentChannel,
    ProductType,
    Province,
    Role,
    Status,
)


class Organization(models.Model):
    """The body that runs the cases. Its `kind` decides which procedure and clocks apply (procedure app:
    a consumer association under 消费者权益保护法 art. 37, a market-supervision complaint centre under the
    12315 measures, or a helper with no procedure of its own); `level` decides whether it may bring a
    public-interest action (art. 47: provincial level and above); name, address and seal text fill its
    documents."""

    class Kind(models.TextChoices):
        CONSUMER_ASSOCIATION = "consumer_association", _("Consumer association (消费者协会)")
        MARKET_REGULATOR = "market_regulator", _("Market-supervision complaint centre (12315)")
        HELPER = "helper", _("Legal aid or other helper")

    class Level(models.TextChoices):
        NATIONAL = "national", _("National")
        PROVINCE = "province", _("Province")
        CITY = "city", _("City")
        COUNTY = "county", _("County")

    slug = models.SlugField(_("slug"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=200, validators=[no_bidi_controls])
    kind = models.CharField(_("type of organization"), max_length=30, choices=Kind.choices, default=Kind.HELPER)
    level = models.CharField(_("administrative level"), max_length=10, choices=Level.choices, default=Level.CITY)
    address = models.CharField(_("address"), max_length=300, blank=True, validators=[no_bidi_controls])
    phone = models.CharField(_("telephone"), max_length=40, blank=True)
    document_prefix = models.CharField(
        _("document number prefix"), max_length=20, blank=True, validators=[no_bidi_controls],
        help_text=_("The organization's short name in its document numbers (文号), e.g. 某消协."),
    )
    seal_text = models.CharField(_("seal placeholder"), max_length=100, default="（印章）",
                                 help_text=_("Printed where the seal goes on the organization's documents."))
    require_totp = models.BooleanField(
        _("second factor for all staff"), default=False,
        help_text=_("Every staff member signs in to the admin with a one-time code (supervisors always do)."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")

    def __str__(self):
        return self.name


class User(AbstractUser):
    """A staff member of one organization, with one role (API.md, "Roles")."""

    organization = models.ForeignKey(
        Organization, verbose_name=_("organization"), on_delete=models.PROTECT, null=True, blank=True,
        related_name="users",
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, blank=True)
    language = models.CharField(_("language of the admin"), max_length=10, blank=True,
                                choices=settings.LANGUAGES)

    class Meta:
        verbose_name = _("staff user")
        verbose_name_plural = _("staff users")

    @property
    def api_key(self):
        return None


class ApiKey(models.Model):
    """A partner app's key. Only a SHA-256 of the secret is stored; the key is shown once."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="api_keys",
                                     verbose_name=_("organization"))
    name = models.CharField(_("app name"), max_length=200, validators=[no_bidi_controls])
    prefix = models.CharField(_("prefix"), max_length=16, unique=True, editable=False)
    hashed_key = models.CharField(_("hashed key"), max_length=64, editable=False)
    can_read_stats = models.BooleanField(_("may read statistics"), default=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("partner API key")
        verbose_name_plural = _("partner API keys")

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self):
        return self.revoked_at is None


class Platform(models.Model):
    """A 卡盟 platform: the shared registry every organization files against."""

    class WindowStart(models.TextChoices):
        DELIVERY = "delivery", _("after delivery")
        DISCOVERY = "discovery", _("after the problem is found")

    name = models.CharField(_("name"), max_length=200, unique=True, validators=[no_bidi_controls])
    domains = models.JSONField(_("domains"), default=list, blank=True)
    company_name = models.CharField(_("operating company"), max_length=200, blank=True,
                                    validators=[no_bidi_controls])
    credit_code = models.CharField(_("unified social credit code (统一社会信用代码)"), max_length=18, blank=True)
    icp_number = models.CharField(_("ICP filing number"), max_length=64, blank=True)
    address = models.CharField(_("operator's address (住所)"), max_length=300, blank=True,
                               help_text=_("Needed by 12315 and a court (民事诉讼法 art. 124)."))
    has_deposit_scheme = models.BooleanField(_("deposit / 先行赔付 scheme"), default=False)
    complaint_window_hours = models.PositiveIntegerField(
        _("complaint window (hours)"), default=72,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 365)],
    )
    complaint_window_from = models.CharField(
        _("complaint window counted from"), max_length=10, choices=WindowStart.choices,
        default=WindowStart.DELIVERY,
    )
    response_working_days = models.PositiveSmallIntegerField(
        _("answer time (working days)"), default=3, validators=[MinValueValidator(1), MaxValueValidator(60)],
    )
    cross_border = models.BooleanField(_("cross-border"), default=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("platform")
        verbose_name_plural = _("platforms")

    def __str__(self):
        return self.name


class Merchant(models.Model):
    platform = models.ForeignKey(Platform, on_delete=models.PROTECT, related_name="merchants",
                                 verbose_name=_("platform"))
    name = models.CharField(_("name"), max_length=200, validators=[no_bidi_controls])
    shop_url = models.URLField(_("shop URL"), blank=True)
    unreachable = models.BooleanField(_("unreachable (失联)"), default=False)
    # The real operator behind the shop nickname (电子商务法 art. 27: the platform verifies it; 消费者权益
    # 保护法 art. 44: a platform that cannot give it answers for the seller). A court needs it, not a nickname.
    operator_name = models.CharField(_("real operator (经营者名称或姓名)"), max_length=200, blank=True)
    operator_credit_code = models.CharField(_("operator's credit code or ID"), max_length=18, blank=True)
    operator_address = models.CharField(_("operator's address (住所)"), max_length=300, blank=True)
    contact = models.CharField(_("contact handles (QQ / WeChat / phone)"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["platform__name", "name"]
        constraints = [models.UniqueConstraint(fields=["platform", "name"], name="merchant_unique_per_platform")]
        verbose_name = _("merchant")
        verbose_name_plural = _("merchants")

    def __str__(self):
        return f"{self.name} @ {self.platform}"


# The blind index beside each searchable encrypted value (kameng_api/core/crypto.py): kind -> column.
BLIND_INDEXES = {"name": "name_index", "phone": "phone_index", "id_number": "id_number_index"}
# The masked form lists show (张*, 138****5678), kept beside each encrypted value: kind -> column. It is
# de-identified data (PIPL art. 73(3)), written with the value, so a list needs no key and decrypts nothing.
MASKED = {"name": "masked_name", "phone": "masked_phone", "id_number": "masked_id_number"}
DERIVED_COLUMNS = (*BLIND_INDEXES.values(), *MASKED.values())


class Consumer(models.Model):
    """Personal data (PIPL): encrypted at rest (art. 51), masked in lists, hidden from analysts, every read
    audit-logged; found by exact phone, ID number or name through keyed blind indexes (README "Personal
    data (PIPL)"). `anonymized_at`: the retention task or an erasure removed the data (art. 19, 47)."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="consumers")
    name = EncryptedTextField(_("name"), max_length=100, validators=[no_bidi_controls])
    phone = EncryptedTextField(_("phone"), max_length=20, blank=True)
    id_number = EncryptedTextField(_("ID number"), max_length=18, blank=True)
    payment_account = EncryptedTextField(_("payment account"), max_length=100, blank=True)
    name_index = models.CharField(max_length=64, blank=True, default="", editable=False)
    phone_index = models.CharField(max_length=64, blank=True, default="", editable=False)
    id_number_index = models.CharField(max_length=64, blank=True, default="", editable=False)
    masked_name = models.CharField(max_length=100, blank=True, default="", editable=False)
    masked_phone = models.CharField(max_length=20, blank=True, default="", editable=False)
    masked_id_number = models.CharField(max_length=18, blank=True, default="", editable=False)
    anonymized_at = models.DateTimeField(_("anonymized at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("consumer")
        verbose_name_plural = _("consumers")
        indexes = [
            models.Index(fields=["organization", column], name=f"consumer_{kind}_bidx",
                         condition=~models.Q(**{column: ""}))
            for kind, column in BLIND_INDEXES.items()
        ]

    def __str__(self):
        from .masking import mask_name

        return mask_name(self.name)

    def save(self, *args, **kwargs):
        self.set_derived()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, *DERIVED_COLUMNS}
        super().save(*args, **kwargs)

    def set_derived(self) -> None:
        """The blind indexes and the masked forms, from the values in hand (DERIVED_COLUMNS)."""
        from .masking import MASKS

        for kind, column in BLIND_INDEXES.items():
            setattr(self, column, "" if self.anonymized_at else blind_index(kind, getattr(self, kind)))
        for kind, column in MASKED.items():
            setattr(self, column, MASKS[kind](getattr(self, kind)))


class CaseQuerySet(models.QuerySet):
    def for_user(self, user):
        """The cases `user` may see: its organization's; a partner key only partner-filed ones."""
        who = Actor.of(user)
        role, org_id = who.role, who.organization_id
        if org_id is None:
            return self.none()
        if role == PARTNER:
            return self.filter(organization_id=org_id, filed_by_key__isnull=False)
        if role in (Role.INTAKE, Role.HANDLER, Role.SUPERVISOR):
            return self.filter(organization_id=org_id)
        return self.none()

    def open(self):
        from .codes import OPEN_STATUSES

        return self.filter(status__in=OPEN_STATUSES)


# The case list is read by organization, newest first, with at most one of these filters leading: one
# index per filter, the organization first and the list order last, so a page (and a bounded count)
# reads only its own index entries whatever the filter or the depth. A partner key's list has its own.
# Search by reference / order number uses trigram indexes (PostgreSQL, migration 0003).
LIST_ORDER = ["-created_at", "-id"]
LIST_INDEXES = [
    models.Index(fields=["organization", *LIST_ORDER], name="case_list_idx"),
    *(models.Index(fields=["organization", column, *LIST_ORDER], name=f"case_list_{short}_idx")
      for column, short in (("status", "status"), ("platform", "platform"), ("dispute_type", "dispute"),
                            ("product_type", "product"), ("assignee", "assignee"))),
    models.Index(fields=["organization", *LIST_ORDER], name="case_list_partner_idx",
                 condition=models.Q(filed_by_key__isnull=False)),
]


class Case(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="cases",
                                     verbose_name=_("organization"))
    reference = models.CharField(_("reference"), max_length=20, unique=True, editable=False)
    platform = models.ForeignKey(Platform, on_delete=models.PROTECT, related_name="cases",
                                 verbose_name=_("platform"))
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="cases", null=True,
                                 blank=True, verbose_name=_("merchant"))
    order_number = models.CharField(_("order number"), max_length=64)
    product_type = models.CharField(_("product type"), max_length=20, choices=ProductType.choices)
    face_value = models.DecimalField(_("face value (CNY)"), max_digits=12, decimal_places=2, null=True,
                                     blank=True)
    amount_paid = models.DecimalField(_("amount paid (CNY)"), max_digits=12, decimal_places=2)
    payment_channel = models.CharField(_("payment channel"), max_length=20, choices=PaymentChannel.choices)
    purchased_at = models.DateTimeField(_("purchased at"))
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    problem_found_at = models.DateTimeField(_("problem found at"))
    dispute_type = models.CharField(_("dispute type"), max_length=30, choices=DisputeType.choices)
    description = models.TextField(_("description"), blank=True)
    merchant_promise = models.TextField(_("what the merchant promised"), blank=True)
    fraud_suspected = models.BooleanField(_("signs of fraud"), default=False)
    deception = models.CharField(
        _("deception (欺诈)"), max_length=20, choices=Deception.choices, blank=True,
        help_text=_("False advertising or concealment: the ground of punitive damages (消费者权益保护法 art. 55)."),
    )
    key_redeemed_on_receipt = models.BooleanField(
        _("card key already redeemed (核销) when received"), null=True, blank=True,
        help_text=_("Yes: a defective key, refundable (消费者权益保护法 art. 24, 民法典 art. 582) whatever the "
                    "no-reason-return exclusion of art. 25 says. Empty: not known yet."),
    )
    consumer_is_minor = models.BooleanField(
        _("bought by a minor"), default=False,
        help_text=_("The guardian may refuse to ratify and ask for a refund (民法典 arts. 19, 145)."),
    )
    for_resale = models.BooleanField(
        _("bought for resale / as an agent"), default=False,
        help_text=_("Not 生活消费 (消费者权益保护法 art. 2): 12315 and the consumer association will not accept it."),
    )
    consumer_province = models.CharField(_("consumer's province"), max_length=2, choices=Province.choices,
                                         blank=True)
    payment_reference = models.CharField(_("payment transaction number (交易流水号)"), max_length=64, blank=True)
    payee_account = models.CharField(_("payee account (收款账户)"), max_length=100, blank=True)
    consumer = models.ForeignKey(Consumer, on_delete=models.PROTECT, related_name="cases",
                                 verbose_name=_("consumer"))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.INTAKE,
                              db_index=True)
    assignee = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="assigned_cases", verbose_name=_("assignee"))
    waiting_on_consumer = models.BooleanField(_("waiting on the consumer"), default=False)
    filed_by_key = models.ForeignKey(ApiKey, on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="cases", verbose_name=_("filed by partner key"))
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+", verbose_name=_("created by"))
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices, blank=True)
    amount_recovered = models.DecimalField(_("amount recovered (CNY)"), max_digits=12, decimal_places=2,
                                           null=True, blank=True)
    resolution = models.TextField(_("resolution"), blank=True)
    consumer_rating = models.PositiveSmallIntegerField(
        _("consumer's rating of the outcome (1-5)"), null=True, blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = CaseQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "platform", "order_number"],
                                    name="case_unique_order_per_org_platform"),
            models.CheckConstraint(condition=models.Q(amount_paid__gt=Decimal("0")),
                                   name="case_amount_paid_positive"),
        ]
        indexes = [models.Index(fields=["platform", "created_at"]),
                   models.Index(fields=["updated_at"], name="case_updated_at_idx"),
                   *LIST_INDEXES]
        verbose_name = _("case")
        verbose_name_plural = _("cases")

    def __str__(self):
        return self.reference

    @property
    def is_open(self):
        from .codes import OPEN_STATUSES

        return self.status in OPEN_STATUSES

    @property
    def etag(self):
        return f'"{self.pk}-{self.version}"'


class Claim(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="claims", verbose_name=_("case"))
    kind = models.CharField(_("kind"), max_length=20, choices=ClaimKind.choices)
    amount = models.DecimalField(_("amount (CNY)"), max_digits=12, decimal_places=2, null=True, blank=True)
    unreasonable = models.BooleanField(_("flagged as unreasonable"), default=False)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["case", "kind"], name="claim_one_per_kind")]
        verbose_name = _("claim")
        verbose_name_plural = _("claims")

    def __str__(self):
        return f"{self.get_kind_display()} {self.amount or ''}".strip()


class CaseEvent(models.Model):
    """The case's history: every transition and change, with actor and time."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events", verbose_name=_("case"))
    kind = models.CharField(_("kind"), max_length=30, choices=EventKind.choices)
    from_status = models.CharField(_("from"), max_length=20, choices=Status.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=20, choices=Status.choices, blank=True)
    note = models.TextField(_("note"), blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)
    actor_user = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                   verbose_name=_("actor"))
    actor_key = models.ForeignKey(ApiKey, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                  verbose_name=_("partner key"))
    occurred_at = models.DateTimeField(_("occurred at"), db_index=True)
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        verbose_name = _("case event")
        verbose_name_plural = _("case events")

    def __str__(self):
        return f"{self.case_id} {self.kind} {self.occurred_at:%Y-%m-%d %H:%M}"

    @property
    def actor_display(self):
        return Actor(user=self.actor_user if self.actor_user_id else None,
                     api_key=self.actor_key if self.actor_key_id else None).name


class ReferenceCounter(models.Model):
    """One row per year; `KM-<year>-<6 digits>` numbers come from it under a row lock."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"{self.year}: {self.last}"
