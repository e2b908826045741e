"""Escalation codes of the public contract (API.md, "Codes": escalation channel and level)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    MERCHANT = "merchant", _("Merchant negotiation")
    PLATFORM = "platform", _("Platform intervention")
    C12315 = "12315", _("12315 (market regulation complaint)")
    CONSUMER_ASSOCIATION = "consumer_association", _("Consumer association (消协)")
    MARKET_REGULATOR = "market_regulator", _("Market regulator")
    CYBERSPACE_ADMIN = "cyberspace_admin", _("Cyberspace administration (网信)")
    PAYMENT_DISPUTE = "payment_dispute", _("Payment-channel dispute (Alipay / WeChat)")
    PUBLIC_COMPLAINT = "public_complaint", _("Public complaint site (黑猫投诉 / 聚投诉)")
    INDUSTRY_ASSOCIATION = "industry_association", _("Industry association")
    CARD_CHARGEBACK = "card_chargeback", _("Card chargeback")
    SMALL_CLAIMS = "small_claims", _("Small-claims procedure (小额诉讼)")
    LAWSUIT = "lawsuit", _("Lawsuit")
    POLICE = "police", _("Police report")
    LEGAL_AID = "legal_aid", _("Legal aid")


LEVEL_OF_CHANNEL: dict[str, int] = {
    Channel.MERCHANT: 1,
    Channel.PLATFORM: 2,
    Channel.C12315: 3,
    Channel.CONSUMER_ASSOCIATION: 3,
    Channel.MARKET_REGULATOR: 3,
    Channel.CYBERSPACE_ADMIN: 3,
    Channel.PAYMENT_DISPUTE: 3,
    Channel.PUBLIC_COMPLAINT: 3,
    Channel.INDUSTRY_ASSOCIATION: 3,
    Channel.CARD_CHARGEBACK: 3,
    Channel.SMALL_CLAIMS: 4,
    Channel.LAWSUIT: 4,
    Channel.POLICE: 4,
    Channel.LEGAL_AID: 4,
}


class Level(models.IntegerChoices):
    MERCHANT = 1, _("Merchant")
    PLATFORM = 2, _("Platform")
    THIRD_PARTY = 3, _("Third party")
    LEGAL = 4, _("Legal")


class SkipReason(models.TextChoices):
    PLATFORM_ABSCONDED = "platform_absconded", _("Platform absconded")
    FRAUD = "fraud", _("Fraud")
    CROSS_BORDER = "cross_border", _("Cross-border platform")
    NO_RESPONSE = "no_response", _("No response at the lower level")
    AMOUNT_OVER_5000 = "amount_over_5000", _("Amount over 5000 CNY")
    OTHER = "other", _("Other (explained)")


class EscalationOutcome(models.TextChoices):
    PENDING = "pending", _("Pending")
    ACCEPTED = "accepted", _("Accepted / being handled")
    RESOLVED = "resolved", _("Resolved in the consumer's favour")
    PARTIAL = "partial", _("Partly resolved")
    REFUSED = "refused", _("Refused")
    NO_RESPONSE = "no_response", _("No response")


class DeadlineKind(models.TextChoices):
    EVIDENCE_PRESERVATION = "evidence_preservation", _("Preserve evidence (24 h after discovery)")
    MERCHANT_ANSWER = "merchant_answer", _("Merchant answer (48 h)")
    PLATFORM_WINDOW = "platform_window", _("Platform complaint window")
    PLATFORM_ANSWER = "platform_answer", _("Platform answer")
    ACCEPTANCE_12315 = "12315_acceptance", _("12315 accepts or refuses (7 working days, art. 14)")
    MEDIATION_12315 = "12315_mediation", _("12315 mediation ends (45 working days, art. 21)")
    THIRD_PARTY_ANSWER = "third_party_answer", _("Third-party answer")
    LEGAL = "legal", _("Legal procedure")


class DeadlineStatus(models.TextChoices):
    OPEN = "open", _("Open")
    MET = "met", _("Met")
    CANCELLED = "cancelled", _("Cancelled")
