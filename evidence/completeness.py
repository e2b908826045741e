"""Which evidence each dispute type needs: a table, read by `completeness/`.

Sources:
- seed 003: the "三证" every virtual-goods complaint needs first — 订单截图、支付凭证、沟通记录
  (order screenshot, payment record, communication record); seed 000 names the same three groups
  (交易凭证、沟通记录、问题证明) and the example that wins: 支付记录 + 卖家承诺的聊天记录 + 激活失败截图 +
  平台规则.
- seed 001: the chain must close 交易 → 交付 → 问题发生 → 协商; for an account recovered by its original
  owner, the abnormal-login IP record; the delivery record (卡密/授权码截图, with time).
- seed 002: for "not as described", the comparison (宣传 100 元面值 vs 到账 50 元); third-party proof —
  bank statement (资金实际支出), other users' similar complaints (非个体问题), platform rules.
- seed 004: for "paid but not received", the record of 扣款成功但余额未变动; for refunds, the platform's
  refund policy page; 录屏 of the failure.

A requirement is met by any one of its kinds (active evidence only). Each gap has a message an intake
clerk can read out to the consumer, in Chinese and English."""

from dataclasses import dataclass

from django.utils import translation

from cases.codes import DisputeType as D

from .codes import EvidenceKind as K
from .codes import Stage as S


@dataclass(frozen=True)
class Requirement:
    stage: str
    kinds: tuple[str, ...]
    zh: str
    en: str

    def message(self) -> str:
        return self.en if (translation.get_language() or "").startswith("en") else self.zh


ORDER = Requirement(S.TRANSACTION, (K.ORDER_SCREENSHOT,),
                    "缺少订单截图：请截取显示商品名称、订单号、金额、商家和下单时间的订单页面。",
                    "No order screenshot: capture the order page showing the product, order number, amount, "
                    "merchant and time of purchase.")
PAYMENT = Requirement(S.TRANSACTION, (K.PAYMENT_RECORD,),
                      "缺少支付凭证：支付宝/微信账单或转账记录截图，需显示时间、金额和收款方。",
                      "No payment record: the Alipay/WeChat bill or transfer record, showing time, amount and "
                      "payee.")
CHAT = Requirement(S.NEGOTIATION, (K.CHAT_LOG, K.PLATFORM_REPLY),
                   "缺少沟通记录：与商家或客服的完整聊天记录（问题描述→商家回应→协商过程），尤其是商家的承诺。",
                   "No communication record: the complete chat with the merchant or support (problem → answer "
                   "→ negotiation), especially what the merchant promised.")
DELIVERY = Requirement(S.DELIVERY, (K.DELIVERY_RECORD,),
                       "缺少交付记录：商家发来的卡密、账号或激活码的截图，需带发货时间。",
                       "No delivery record: a screenshot of the card key, account or activation code the "
                       "merchant sent, with the time it was sent.")
ERROR = Requirement(S.PROBLEM, (K.ERROR_SCREENSHOT, K.COMPARISON_VIDEO),
                    "缺少问题证明：使用时的错误提示或激活失败页面的截图或录屏。",
                    "No proof of the problem: a screenshot or screen recording of the error message or the "
                    "failed activation.")
NOT_RECEIVED = Requirement(S.PROBLEM, (K.ERROR_SCREENSHOT,),
                           "缺少未到账证明：扣款成功但余额或订单状态未变化的对比截图。",
                           "No proof of non-delivery: screenshots showing the payment went through but the "
                           "balance or order status did not change.")
PAGE = Requirement(S.TRANSACTION, (K.PRODUCT_PAGE,),
                   "缺少商品详情页快照：商家承诺的面值、功能、有效期和退款政策。",
                   "No product page snapshot: what the merchant promised — face value, functions, validity, "
                   "refund policy.")
COMPARISON = Requirement(S.PROBLEM, (K.COMPARISON_VIDEO, K.ERROR_SCREENSHOT),
                         "缺少与描述不符的对比：宣传内容与实际情况对比的视频或截图。",
                         "No comparison: a video or screenshots setting what was advertised against what was "
                         "received.")
LOGIN = Requirement(S.PROBLEM, (K.LOGIN_RECORD,),
                    "缺少异常登录记录：登录异常的 IP 地址、时间和设备记录。",
                    "No abnormal-login record: the IP addresses, times and devices of the suspicious logins.")
# The buyer of an account recovered by its original owner cannot get the seller's login records: the game's
# recovery notice or the login-failure screen is what exists (the records are the operator's to produce,
# 电子商务法 art. 62).
RECOVERY = Requirement(S.PROBLEM, (K.ERROR_SCREENSHOT, K.LOGIN_RECORD),
                       "缺少账号被找回的证明：游戏方的找回／申诉通知，或“密码已修改”“账号已被找回”的登录失败截图。卖家的登录记录"
                       "由平台和游戏运营方掌握，买家无需提供（《电子商务法》第六十二条）。",
                       "No proof of the recovery: the game's recovery notice, or the login-failure screen (\"password "
                       "changed\", \"account recovered\"). The seller's login records are held by the platform and the "
                       "game operator; the buyer need not produce them (E-Commerce Law art. 62).")
PROMISE = Requirement(S.NEGOTIATION, (K.CHAT_LOG, K.PLATFORM_REPLY),
                      "缺少卖家的承诺：聊天记录中卖家“包赔”“找回包退”等承诺，以及问题发生后的协商过程。",
                      "No seller's promise: the chat where the seller promised to make good a recovery (包赔), and the "
                      "negotiation after it happened.")
LOGIN_OR_ERROR = Requirement(S.PROBLEM, (K.LOGIN_RECORD, K.ERROR_SCREENSHOT),
                             "缺少信息泄露的证明：异常登录记录或收到的诈骗/骚扰信息截图。",
                             "No proof of the leak: abnormal-login records or screenshots of the scam or "
                             "nuisance messages received.")
RULES = Requirement(S.TRANSACTION, (K.PLATFORM_RULES,),
                    "缺少平台规则或用户协议截图：尤其是“概不退换”“最终解释权”等条款原文。",
                    "No platform rules or user agreement: the wording of the clause (\"no refunds\", "
                    "\"final interpretation\").")
RULES_OR_PAGE = Requirement(S.TRANSACTION, (K.PLATFORM_RULES, K.PRODUCT_PAGE),
                            "缺少退款依据：平台退款规则或商品页上的退款承诺截图。",
                            "No basis for the refund: the platform's refund rules or the refund promise on the "
                            "product page.")
PLATFORM_REPLY = Requirement(S.NEGOTIATION, (K.PLATFORM_REPLY,),
                             "缺少平台答复：平台拒绝处理、推诿或超时未答复的记录。",
                             "No platform reply: the record of the platform refusing, passing the buck or not "
                             "answering in time.")
BANK = Requirement(S.THIRD_PARTY, (K.BANK_STATEMENT,),
                   "缺少银行卡流水：证明钱确实付出去了。",
                   "No bank statement: proof that the money actually left the account.")
SIMILAR = Requirement(S.THIRD_PARTY, (K.SIMILAR_COMPLAINTS,),
                      "缺少类似投诉：其他用户的同类投诉（如黑猫投诉），证明不是个别问题。",
                      "No similar complaints: other consumers' complaints of the same kind (e.g. on Heimao), "
                      "showing it is not an isolated case.")

REQUIRED: dict[str, tuple[Requirement, ...]] = {
    D.INVALID_CODE: (ORDER, PAYMENT, DELIVERY, ERROR, CHAT),
    D.NOT_AS_DESCRIBED: (ORDER, PAYMENT, PAGE, COMPARISON, CHAT),
    D.MISSING_FUNCTION: (ORDER, PAYMENT, PAGE, COMPARISON, CHAT),
    D.DELIVERY_DELAY: (ORDER, PAYMENT, NOT_RECEIVED, CHAT),
    D.FAKE_DELIVERY: (ORDER, PAYMENT, DELIVERY, ERROR, CHAT),
    D.REFUND_REFUSED: (ORDER, PAYMENT, RULES_OR_PAGE, CHAT),
    D.ACCOUNT_RECOVERED: (ORDER, PAYMENT, DELIVERY, RECOVERY, PROMISE),
    D.ACCOUNT_BANNED: (ORDER, PAYMENT, DELIVERY, ERROR, CHAT),
    D.ACCOUNT_MISMATCH: (ORDER, PAYMENT, PAGE, DELIVERY, COMPARISON, CHAT),
    D.ACCOUNT_THEFT: (ORDER, PAYMENT, LOGIN, PLATFORM_REPLY),
    D.DATA_LEAK: (ORDER, PAYMENT, LOGIN_OR_ERROR, PLATFORM_REPLY),
    D.MERCHANT_UNREACHABLE: (ORDER, PAYMENT, PAGE, CHAT),
    D.PLATFORM_SHIRKING: (ORDER, PAYMENT, CHAT, PLATFORM_REPLY),
    D.UNFAIR_TERMS: (ORDER, PAYMENT, RULES, CHAT),
    D.PLATFORM_ABSCONDED: (ORDER, PAYMENT, BANK, SIMILAR),
    D.FRAUD: (ORDER, PAYMENT, PAGE, CHAT, BANK),
}
DEFAULT = (ORDER, PAYMENT, CHAT)


def _zh() -> bool:
    return not (translation.get_language() or "").startswith("en")


def facts_missing(case) -> list[dict]:
    """What the case itself must still record, whatever the dispute type: the respondent's identity and address
    (12315 needs 被投诉人 name and address; a court needs 被告 identity and domicile, 民事诉讼法 art. 124), and
    for a key that failed, whether it was already redeemed (核销) when received (消费者权益保护法 art. 24)."""
    zh = _zh()
    out = []
    merchant, platform = case.merchant, case.platform
    if not (merchant and merchant.operator_name and merchant.operator_address) and not (
            platform.company_name and platform.address):
        out.append({"field": "respondent", "message": (
            "缺少被投诉人（经营者）的真实名称和地址：12315投诉和法院起诉都需要。请向平台索取店铺经营者的真实名称、地址和联系方式"
            "（《电子商务法》第二十七条、《消费者权益保护法》第四十四条），或记录平台运营公司的名称和地址。" if zh else
            "No real name and address of the respondent: 12315 and a court both need them. Ask the platform for the "
            "shop operator's real name, address and contact (E-Commerce Law art. 27, CPL art. 44), or record the "
            "platform company's name and address.")})
    if case.dispute_type in (D.INVALID_CODE, D.FAKE_DELIVERY) and case.key_redeemed_on_receipt is None:
        out.append({"field": "key_redeemed_on_receipt", "message": (
            "未记录卡密在收到时是否已被核销：请向发行方查询核销时间，截图“已被使用”的提示，并记录在案件中。" if zh else
            "Not recorded whether the key was already redeemed when received: ask the issuer for the redemption "
            "time, capture the 'already used' message, and record it on the case.")})
    return out


def notes(case) -> list[str]:
    """Law the handler can put to a platform that asks for proof only it holds."""
    if case.dispute_type in (D.ACCOUNT_RECOVERED, D.ACCOUNT_BANNED, D.ACCOUNT_THEFT, D.FAKE_DELIVERY,
                             D.DELIVERY_DELAY):
        return ["平台要求提供只有平台才掌握的记录（登录、发货、充值记录）时：电子商务经营者应当提供原始合同和交易记录"
                "（《电子商务法》第六十二条）。" if _zh() else
                "When the platform asks for records only it holds (logins, delivery, top-up): the operator must "
                "produce the original contract and transaction records (E-Commerce Law art. 62)."]
    return []


def completeness(dispute_type: str, kinds_present: set[str], case=None) -> dict:
    """`{"score": 0-100, "complete": bool, "missing": [{"stage", "kind", "kinds", "message"}], "facts_missing",
    "notes"}`; the score counts the evidence; `facts_missing` are what the case record itself lacks."""
    required = REQUIRED.get(dispute_type, DEFAULT)
    missing = [
        {"stage": req.stage, "kind": req.kinds[0], "kinds": list(req.kinds), "message": req.message()}
        for req in required if not set(req.kinds) & kinds_present
    ]
    met = len(required) - len(missing)
    result = {"score": round(100 * met / len(required)), "complete": not missing, "missing": missing}
    if case is not None:
        result["facts_missing"] = facts_missing(case)
        result["notes"] = notes(case)
    return result
