"""Evidence codes of the public contract (API.md, "Codes"): kinds and the stage each belongs to.

The stages follow the evidence chain 交易 → 交付 → 问题发生 → 协商 (seed 001), plus third parties
(seed 002: bank statements, other consumers' similar complaints)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Stage(models.TextChoices):
    TRANSACTION = "transaction", _("Transaction (交易)")
    DELIVERY = "delivery", _("Delivery (交付)")
    PROBLEM = "problem", _("Problem (问题发生)")
    NEGOTIATION = "negotiation", _("Negotiation (协商)")
    THIRD_PARTY = "third_party", _("Third party (第三方佐证)")


STAGE_ORDER = (Stage.TRANSACTION, Stage.DELIVERY, Stage.PROBLEM, Stage.NEGOTIATION, Stage.THIRD_PARTY)


class EvidenceKind(models.TextChoices):
    ORDER_SCREENSHOT = "order_screenshot", _("Order screenshot (订单截图)")
    PAYMENT_RECORD = "payment_record", _("Payment record (支付凭证)")
    PRODUCT_PAGE = "product_page", _("Product page snapshot (商品详情页快照)")
    PLATFORM_RULES = "platform_rules", _("Platform rules / user agreement (平台规则/用户协议)")
    DELIVERY_RECORD = "delivery_record", _("Delivery record (交付记录)")
    ERROR_SCREENSHOT = "error_screenshot", _("Error screenshot (错误提示截图)")
    COMPARISON_VIDEO = "comparison_video", _("Comparison video (对比视频)")
    LOGIN_RECORD = "login_record", _("Abnormal login record (异常登录记录)")
    CHAT_LOG = "chat_log", _("Chat log with the merchant (聊天记录)")
    PLATFORM_REPLY = "platform_reply", _("Platform reply (平台答复)")
    BANK_STATEMENT = "bank_statement", _("Bank statement (银行卡流水)")
    SIMILAR_COMPLAINTS = "similar_complaints", _("Similar complaints (类似投诉)")
    OTHER = "other", _("Other")


K = EvidenceKind
KIND_STAGE: dict[str, str] = {
    K.ORDER_SCREENSHOT: Stage.TRANSACTION,
    K.PAYMENT_RECORD: Stage.TRANSACTION,
    K.PRODUCT_PAGE: Stage.TRANSACTION,
    K.PLATFORM_RULES: Stage.TRANSACTION,
    K.DELIVERY_RECORD: Stage.DELIVERY,
    K.ERROR_SCREENSHOT: Stage.PROBLEM,
    K.COMPARISON_VIDEO: Stage.PROBLEM,
    K.LOGIN_RECORD: Stage.PROBLEM,
    K.CHAT_LOG: Stage.NEGOTIATION,
    K.PLATFORM_REPLY: Stage.NEGOTIATION,
    K.BANK_STATEMENT: Stage.THIRD_PARTY,
    K.SIMILAR_COMPLAINTS: Stage.THIRD_PARTY,
    K.OTHER: Stage.THIRD_PARTY,
}

# Facts that are not about this purchase and may well predate it: the rules the platform published,
# and other consumers' complaints. Every other kind before the purchase is a 400.
MAY_PRECEDE_PURCHASE = frozenset({K.PLATFORM_RULES, K.SIMILAR_COMPLAINTS})


class EvidenceStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    SUPERSEDED = "superseded", _("Superseded")
