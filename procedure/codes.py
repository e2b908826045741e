"""Codes of the organization's own procedure (API.md: `cases/{id}/acceptance/`, `cases/{id}/mediation/`)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Track(models.TextChoices):
    """Which procedure the case runs under: the organization's kind when the complaint was registered."""

    CONSUMER_ASSOCIATION = "consumer_association", _("Consumer association (消费者权益保护法 art. 37)")
    MARKET_REGULATOR = "market_regulator", _("12315 complaint centre (市场监督管理投诉举报处理办法)")


class Stage(models.TextChoices):
    REGISTERED = "registered", _("Registered, awaiting the acceptance decision")
    REFUSAL_PROPOSED = "refusal_proposed", _("Refusal proposed, awaiting a supervisor")
    ACCEPTED = "accepted", _("Accepted: mediation")
    REFUSED = "refused", _("Not accepted")
    FORWARDED = "forwarded", _("Forwarded to the competent body")
    AGREEMENT = "agreement", _("Agreement reached, awaiting performance")
    PERFORMED = "performed", _("Agreement performed")
    TERMINATED = "terminated", _("Mediation terminated")


OPEN_STAGES = (Stage.REGISTERED, Stage.REFUSAL_PROPOSED, Stage.ACCEPTED, Stage.AGREEMENT)


class Decision(models.TextChoices):
    ACCEPT = "accept", _("Accept (受理)")
    REFUSE = "refuse", _("Refuse (不予受理)")
    FORWARD = "forward", _("Forward to the competent body (转送)")


class RefusalGround(models.TextChoices):
    """The closed list of grounds for not accepting a complaint (procedure/rules.py cites each)."""

    NOT_CONSUMPTION = "not_consumption", _("Not bought for personal consumption (非生活消费)")
    BEFORE_OTHER_BODY = "before_other_body", _(
        "The same dispute is already before a court, an arbitration body or another authority, or was mediated")
    NO_RESPONDENT = "no_respondent", _("No identifiable respondent (无明确的被投诉人)")
    LIMITATION = "limitation", _("Outside the limitation period (超过三年)")
    OUTSIDE_REMIT = "outside_remit", _("Outside the body's remit (不属于本机构职责范围)")


class WaitingOn(models.TextChoices):
    CONSUMER = "consumer", _("the consumer")
    MERCHANT = "merchant", _("the merchant")
    TESTING = "testing", _("testing or appraisal (检测、鉴定)")


class SessionMode(models.TextChoices):
    ON_SITE = "on_site", _("on site (现场)")
    PHONE = "phone", _("by telephone")
    ONLINE = "online", _("online / video")


class SessionOutcome(models.TextChoices):
    CONTINUE = "continue", _("Continue mediating")
    AGREEMENT = "agreement", _("Agreement reached")
    FAILED = "failed", _("No agreement possible")


class TerminationReason(models.TextChoices):
    """Why mediation ends without an agreement (暂行办法 第二十一条; the association by analogy)."""

    WITHDRAWN = "withdrawn", _("The consumer withdrew the complaint or the parties settled themselves")
    REFUSED_TO_MEDIATE = "refused_to_mediate", _(
        "A party did not attend without good reason, or the merchant refused mediation")
    NO_AGREEMENT = "no_agreement", _("A party said no agreement is possible")
    TIME_LIMIT = "time_limit", _("The mediation time limit passed without an agreement")
    TESTING_DISPUTE = "testing_dispute", _("The parties could not agree on testing or appraisal, or its cost")
    GROUND_FOUND = "ground_found", _("A ground for not accepting was found after acceptance")


class DocumentKind(models.TextChoices):
    ACCEPTANCE_NOTICE = "acceptance_notice", _("受理通知书 (notice of acceptance)")
    REFUSAL_NOTICE = "refusal_notice", _("不予受理告知书 (notice of non-acceptance)")
    FORWARD_NOTICE = "forward_notice", _("投诉转送告知书 (notice of forwarding)")
    MEDIATION_AGREEMENT = "mediation_agreement", _("调解协议书 (mediation agreement)")
    TERMINATION_NOTICE = "termination_notice", _("终止调解告知书 (notice of termination)")
    LAWSUIT_SUPPORT = "lawsuit_support", _("支持起诉意见书 (opinion supporting the lawsuit)")


class SupportStatus(models.TextChoices):
    PROPOSED = "proposed", _("Proposed, awaiting a supervisor")
    APPROVED = "approved", _("Approved and issued")
