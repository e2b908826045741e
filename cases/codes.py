"""The codes of the public contract (API.md, "Codes"). Values are fixed; labels are translated."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from kameng_api.core.roles import PARTNER, Role  # noqa: F401  (re-exported while branches still import it here)


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
    # The organization's own procedure (procedure app)
    ACCEPTANCE_DECIDED = "acceptance_decided", _("Acceptance decided (受理 / 不予受理 / 转送)")
    MEDIATION_SESSION = "mediation_session", _("Mediation session recorded")
    MEDIATION_CLOCK = "mediation_clock", _("Procedure clock stopped or restarted")
    MEDIATION_AGREEMENT = "mediation_agreement", _("Mediation agreement reached")
    MEDIATION_TERMINATED = "mediation_terminated", _("Mediation terminated")
    AGREEMENT_PERFORMED = "agreement_performed", _("Agreement performed")
    AGREEMENT_OVERDUE = "agreement_overdue", _("Agreement not performed by its deadline")
    LAWSUIT_SUPPORTED = "lawsuit_supported", _("Lawsuit supported (支持起诉)")


class Deception(models.TextChoices):
    """What makes a sale 欺诈 under Consumer Rights Protection Law art. 55 (退一赔三): false advertising or
    deliberate concealment (《侵害消费者权益行为处罚办法》 art. 16; 最高人民法院《关于适用〈中华人民共和国民法典〉
    总则编若干问题的解释》 art. 21), or taking the money with no intention to deliver."""

    FALSE_ADVERTISING = "false_advertising", _("False advertising (虚假宣传, e.g. 面值缩水, a \"lifetime\" trial)")
    CONCEALMENT = "concealment", _("Deliberate concealment (故意隐瞒真实情况, e.g. a used or recovered item)")
    TOOK_THE_MONEY = "took_the_money", _("Took the money with no intention to deliver (收款后失联)")


class Province(models.TextChoices):
    """Provincial-level divisions of the mainland (GB/T 2260 codes): the small-claims limit is per province
    (Civil Procedure Law art. 165)."""

    BJ = "11", _("Beijing")
    TJ = "12", _("Tianjin")
    HE = "13", _("Hebei")
    SX = "14", _("Shanxi")
    NM = "15", _("Inner Mongolia")
    LN = "21", _("Liaoning")
    JL = "22", _("Jilin")
    HL = "23", _("Heilongjiang")
    SH = "31", _("Shanghai")
    JS = "32", _("Jiangsu")
    ZJ = "33", _("Zhejiang")
    AH = "34", _("Anhui")
    FJ = "35", _("Fujian")
    JX = "36", _("Jiangxi")
    SD = "37", _("Shandong")
    HA = "41", _("Henan")
    HB = "42", _("Hubei")
    HN = "43", _("Hunan")
    GD = "44", _("Guangdong")
    GX = "45", _("Guangxi")
    HI = "46", _("Hainan")
    CQ = "50", _("Chongqing")
    SC = "51", _("Sichuan")
    GZ = "52", _("Guizhou")
    YN = "53", _("Yunnan")
    XZ = "54", _("Tibet")
    SN = "61", _("Shaanxi")
    GS = "62", _("Gansu")
    QH = "63", _("Qinghai")
    NX = "64", _("Ningxia")
    XJ = "65", _("Xinjiang")


PROVINCE_ZH = {
    "11": "北京市", "12": "天津市", "13": "河北省", "14": "山西省", "15": "内蒙古自治区", "21": "辽宁省",
    "22": "吉林省", "23": "黑龙江省", "31": "上海市", "32": "江苏省", "33": "浙江省", "34": "安徽省",
    "35": "福建省", "36": "江西省", "37": "山东省", "41": "河南省", "42": "湖北省", "43": "湖南省",
    "44": "广东省", "45": "广西壮族自治区", "46": "海南省", "50": "重庆市", "51": "四川省", "52": "贵州省",
    "53": "云南省", "54": "西藏自治区", "61": "陕西省", "62": "甘肃省", "63": "青海省", "64": "宁夏回族自治区",
    "65": "新疆维吾尔自治区",
}
