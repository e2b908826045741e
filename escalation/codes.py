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
    COMMUNICATIONS_ADMIN = "communications_admin", _("Communications administration (通信管理局, ICP filing)")
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
    Channel.COMMUNICATIONS_ADMIN: 3,
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
    PLATFORM_WINDOW = "platform_window", _("The platform's complaint window closes first")
    NOT_A_CONSUMER = "not_a_consumer", _("Bought for resale: 12315 and the consumer association do not apply")
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
    ACCEPTANCE_12315 = "12315_acceptance", _("12315 accepts or refuses (working days, per the rule version)")
    MEDIATION_12315 = "12315_mediation", _("12315 mediation ends (working days, per the rule version)")
    THIRD_PARTY_ANSWER = "third_party_answer", _("Third-party answer")
    REPORT_DECISION = "report_decision", _("Market regulator decides on a report (举报, 15 working days)")
    LEGAL = "legal", _("Legal procedure")


class DeadlineStatus(models.TextChoices):
    OPEN = "open", _("Open")
    MET = "met", _("Met")
    CANCELLED = "cancelled", _("Cancelled")


class Unit(models.TextChoices):
    HOURS = "hours", _("hours")
    WORKING_DAYS = "working_days", _("working days")
    CALENDAR_DAYS = "calendar_days", _("days")
    MONTHS = "months", _("months")
    CNY = "cny", _("CNY")
    RATIO = "ratio", _("ratio")


class RuleKey(models.TextChoices):
    """The statutory (or published-practice) values the service counts with; each has versions by date."""

    ACCEPTANCE_12315 = "12315_acceptance", _("12315: decision to accept a complaint")
    MEDIATION_12315 = "12315_mediation", _("12315: mediation ends without agreement")
    REPORT_DECISION = "report_decision", _("Market regulator: decision on a report (举报)")
    SMALL_CLAIMS_RATIO = "small_claims_ratio", _("Small claims: share of the province's average wage")
    SMALL_CLAIMS_TERM = "small_claims_term", _("Small claims: decided within")
    SIMPLE_PROCEDURE_TERM = "simple_procedure_term", _("Simplified procedure: decided within")
    ORDINARY_PROCEDURE_TERM = "ordinary_procedure_term", _("Ordinary procedure: decided within")
    POLICE_FILING = "police_filing", _("Police: decision whether to open a case (立案)")
    LEGAL_AID_REVIEW = "legal_aid_review", _("Legal aid: decision on an application")
    FRAUD_THRESHOLD_NETWORK = "fraud_threshold_network", _("Telecom / network fraud: 数额较大")
    FRAUD_THRESHOLD_GENERAL = "fraud_threshold_general", _("Fraud (刑法 art. 266): 数额较大, lowest bound")
    PUNITIVE_MULTIPLIER = "punitive_multiplier", _("Punitive damages: multiple of the price")
    PUNITIVE_MINIMUM = "punitive_minimum", _("Punitive damages: minimum")
    DOUBLE_FILING = "double_filing", _("12315: refused when another body already handles the dispute")
    # The consumer association's own procedure (procedure app)
    ASSOCIATION_ACCEPTANCE = "association_acceptance", _("Consumer association: decision to accept a complaint")
    ASSOCIATION_MEDIATION = "association_mediation", _("Consumer association: mediation ends without agreement")
    # Working assumptions (no statute): kept in the same table so a supervisor can correct them.
    EVIDENCE_PRESERVATION = "evidence_preservation", _("Preserve the evidence after discovery")
    MERCHANT_ANSWER = "merchant_answer", _("Merchant: answer to a complaint")
    ASSOCIATION_ANSWER = "consumer_association_answer", _("Consumer association: answer")
    CYBERSPACE_ANSWER = "cyberspace_admin_answer", _("Cyberspace administration: answer")
    COMMUNICATIONS_ANSWER = "communications_admin_answer", _("Communications administration: answer")
    PAYMENT_DISPUTE_ANSWER = "payment_dispute_answer", _("Payment dispute: answer")
    PUBLIC_COMPLAINT_ANSWER = "public_complaint_answer", _("Public complaint site: answer")
    INDUSTRY_ASSOCIATION_ANSWER = "industry_association_answer", _("Industry association: answer")
    CARD_CHARGEBACK_ANSWER = "card_chargeback_answer", _("Card chargeback: answer")
