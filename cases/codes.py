"""The codes of the public contract (API.md, "Codes"). Values are fixed; labels are translated."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    INTAKE = "intake", _("Intake staff")
    HANDLER = "handler", _("Case handler")
    SUPERVISOR = "supervisor", _("Supervisor")
    ANALYST = "analyst", _("Analyst")


PARTNER = "partner"  # the role of a request made with an API key


class Status(models.TextChoices):
    INTAKE = "intake", _("Intake")
    COLLECTING_EVIDENCE = "collecting_evidence", _("Collecting evidence")
    NEGOTIATING = "negotiating", _("Negotiating with the merchant")
    PLATFORM_REVIEW = "platform_review", _("Platform review")
    THIRD_PARTY = "third_party", _("Third party")
    LEGAL = "legal", _("Legal")
    RESOLVED = "resolved", _("Resolved")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")


OPEN_STATUSES = (
    Status.INTAKE,
    Status.COLLECTING_EVIDENCE,
    Status.NEGOTIATING,
    Status.PLATFORM_REVIEW,
    Status.THIRD_PARTY,
    Status.LEGAL,
)
CLOSED_STATUSES = (Status.RESOLVED, Status.REJECTED, Status.WITHDRAWN)


class DisputeType(models.TextChoices):
    """Seeds 000, 001, 002: performance defects, breach, account, platform liability, fraud."""

    INVALID_CODE = "invalid_code", _("Invalid code or card (卡密无效/激活失败)")
    NOT_AS_DESCRIBED = "not_as_described", _("Not as described (面值缩水/虚假会员)")
    MISSING_FUNCTION = "missing_function", _("Missing function")
    DELIVERY_DELAY = "delivery_delay", _("Delivery delay (超48小时未到账)")
    FAKE_DELIVERY = "fake_delivery", _("Fake delivery")
    REFUND_REFUSED = "refund_refused", _("Refund refused")
    ACCOUNT_RECOVERED = "account_recovered", _("Account recovered by the original owner (被找回)")
    ACCOUNT_BANNED = "account_banned", _("Account banned")
    ACCOUNT_MISMATCH = "account_mismatch", _("Account not as described")
    ACCOUNT_THEFT = "account_theft", _("Account theft")
    DATA_LEAK = "data_leak", _("Personal data leak")
    MERCHANT_UNREACHABLE = "merchant_unreachable", _("Merchant unreachable (商家失联)")
    PLATFORM_SHIRKING = "platform_shirking", _("Platform shirking (推诿)")
    UNFAIR_TERMS = "unfair_terms", _("Unfair terms (霸王条款)")
    PLATFORM_ABSCONDED = "platform_absconded", _("Platform absconded (跑路)")
    FRAUD = "fraud", _("Fraud (收款后失联)")


class ProductType(models.TextChoices):
    GAME_CARD = "game_card", _("Game point card (游戏点卡)")
    PHONE_RECHARGE = "phone_recharge", _("Phone recharge (话费充值)")
    ACTIVATION_KEY = "activation_key", _("Activation key (激活码)")
    GAME_ACCOUNT = "game_account", _("Game account")
    VIRTUAL_CURRENCY = "virtual_currency", _("Virtual currency")
    MEMBERSHIP = "membership", _("Membership")
    OTHER = "other", _("Other")


class PaymentChannel(models.TextChoices):
    ALIPAY = "alipay", _("Alipay")
    WECHAT = "wechat", _("WeChat Pay")
    BANK_CARD = "bank_card", _("Bank card")
    CREDIT_CARD = "credit_card", _("Credit card")
    PLATFORM_BALANCE = "platform_balance", _("Platform balance")
    OTHER = "other", _("Other")


class ClaimKind(models.TextChoices):
    REFUND = "refund", _("Refund")
    REDELIVERY = "redelivery", _("Replacement / re-delivery")
    COMPENSATION = "compensation", _("Compensation of direct loss")
    PUNITIVE = "punitive", _("Punitive damages (退一赔三, CPL art. 55)")


class Outcome(models.TextChoices):
    FAVOURABLE = "favourable", _("In the consumer's favour")
    PARTIAL = "partial", _("Partly in the consumer's favour")
    UNFAVOURABLE = "unfavourable", _("Not in the consumer's favour")


class EventKind(models.TextChoices):
    CREATED = "created", _("Case created")
    UPDATED = "updated", _("Case updated")
    STATUS_CHANGED = "status_changed", _("Status changed")
    ASSIGNED = "assigned", _("Assigned")
    EVIDENCE_ADDED = "evidence_added", _("Evidence added")
    EVIDENCE_WITHDRAWN = "evidence_withdrawn", _("Evidence withdrawn")
    ESCALATED = "escalated", _("Escalated")
    ESCALATION_ANSWERED = "escalation_answered", _("Escalation answered")
