"""The procedure's rules as tables: which clock runs for which kind of organization (from the versioned rule
table, escalation/lawbook.py), the closed list of refusal grounds with the article each rests on, the reasons
for terminating mediation, and the consumer's next options.

Articles: 《市场监督管理投诉举报处理暂行办法》(总局令第20号, revised 2022) up to 2026-04-14; from 2026-04-15
《市场监督管理投诉举报处理办法》(总局令第121号), whose article numbers could not be checked against the official
text here (escalation/lawbook.py says the same): the documents then cite the measures without an article
number and say it is unconfirmed. The item numbers of the interim measures' art. 15 and art. 21 are quoted
from published reproductions of the 2022 text, not from the official site (unconfirmed, like lawbook's row).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from escalation.calendar import Calendar
from escalation.codes import RuleKey, Unit
from escalation.lawbook import INTERIM_TO, RuleBook, Version

from .codes import RefusalGround, TerminationReason, Track

CPL = "《中华人民共和国消费者权益保护法》"
INTERIM = "《市场监督管理投诉举报处理暂行办法》"
NEW = "《市场监督管理投诉举报处理办法》"
UNCHECKED = "（条文号未核实）"

ACCEPTANCE_KEY: dict[str, str] = {Track.MARKET_REGULATOR: RuleKey.ACCEPTANCE_12315,
                                  Track.CONSUMER_ASSOCIATION: RuleKey.ASSOCIATION_ACCEPTANCE}
MEDIATION_KEY: dict[str, str] = {Track.MARKET_REGULATOR: RuleKey.MEDIATION_12315,
                                 Track.CONSUMER_ASSOCIATION: RuleKey.ASSOCIATION_MEDIATION}


@dataclass(frozen=True)
class Basis:
    """What a decision rests on: the law, the article (empty when unconfirmed) and the words of the rule."""

    law: str
    article: str
    text_zh: str
    text_en: str
    confirmed: bool = False

    @property
    def citation(self) -> str:
        return f"{self.law}{self.article}" if self.article else f"{self.law}{UNCHECKED}"


def _interim(on: date) -> bool:
    return on <= INTERIM_TO


# --- acceptance ------------------------------------------------------------------------------------------------

GROUND_WORDS: dict[str, tuple[str, str]] = {
    RefusalGround.NOT_CONSUMPTION: (
        "投诉人不是为生活消费需要购买、使用商品或者接受服务",
        "the complainant did not buy or use the goods or service for personal consumption"),
    RefusalGround.BEFORE_OTHER_BODY: (
        "法院、仲裁机构、市场监督管理部门或者其他行政机关、消费者协会或者依法成立的其他调解组织已经受理或者处理过同一消费者权益争议",
        "a court, an arbitration body, a market regulator or another authority, a consumer association or another "
        "lawful mediation body has already accepted or handled the same dispute"),
    RefusalGround.NO_RESPONDENT: (
        "投诉未能提供被投诉人的名称（姓名）、地址等信息，被投诉人无法确定",
        "the complaint does not give the respondent's name and address, and the respondent cannot be identified"),
    RefusalGround.LIMITATION: (
        "投诉人知道或者应当知道自己的权益受到被投诉人侵害之日起已超过三年",
        "more than three years have passed since the complainant knew or should have known of the harm"),
    RefusalGround.OUTSIDE_REMIT: (
        "投诉事项不属于本机构的职责范围，或者本机构不具有处理权限",
        "the matter is outside this body's remit, or this body has no power to handle it"),
}
INTERIM_ITEMS: dict[str, str] = {RefusalGround.OUTSIDE_REMIT: "（一）", RefusalGround.BEFORE_OTHER_BODY: "（二）",
                                 RefusalGround.NOT_CONSUMPTION: "（三）", RefusalGround.LIMITATION: "（四）",
                                 RefusalGround.NO_RESPONDENT: "（五）"}
# Where the consumer can go instead, per ground.
GROUND_INSTEAD: dict[str, tuple[str, str]] = {
    RefusalGround.NOT_CONSUMPTION: ("依据合同向人民法院提起诉讼，或者依据仲裁协议申请仲裁",
                                    "sue under the contract in a people's court, or apply for arbitration under an "
                                    "arbitration agreement"),
    RefusalGround.BEFORE_OTHER_BODY: ("向已经受理或者处理该争议的机关、组织了解处理情况",
                                      "ask the body already handling the dispute about its progress"),
    RefusalGround.NO_RESPONDENT: ("在补充被投诉人的名称（姓名）、地址后重新投诉；网络交易中可请求平台经营者提供平台内经营者的真实名称、地址和有效联系方式（消费者权益保护法第四十四条）",
                                 "complain again with the respondent's name and address; in online trade, ask the "
                                 "platform for the seller's real name, address and contact details (CPL art. 44)"),
    RefusalGround.LIMITATION: ("可以咨询律师或者法律援助机构，了解是否存在诉讼时效中止、中断的情形",
                               "consult a lawyer or legal aid on whether the limitation period was suspended or "
                               "interrupted"),
    RefusalGround.OUTSIDE_REMIT: ("向有处理权限的机关投诉，或者向人民法院提起诉讼",
                                  "complain to the competent body, or sue in a people's court"),
}


def refusal_basis(ground: str, *, track: str, on: date) -> Basis:
    """The rule a refusal on `ground` rests on, for the organization's track, on the day of registration."""
    zh, en = GROUND_WORDS[ground]
    if track == Track.MARKET_REGULATOR:
        if _interim(on):
            return Basis(INTERIM, f"第十五条第{INTERIM_ITEMS[ground]}项", zh, en)
        return Basis(NEW, "", zh, en)
    if ground == RefusalGround.NOT_CONSUMPTION:
        return Basis(CPL, "第二条", zh, en, confirmed=True)
    if ground == RefusalGround.LIMITATION:
        return Basis("《中华人民共和国民法典》", "第一百八十八条", zh, en, confirmed=True)
    return Basis(CPL, "第三十七条第一款第（四）项", zh, en, confirmed=True)


def acceptance_basis(*, track: str, on: date) -> Basis:
    if track == Track.MARKET_REGULATOR:
        words = ("应当自收到投诉之日起七个工作日内作出受理或者不予受理的决定，并告知投诉人",
                 "decides within seven working days of receipt whether to accept the complaint, and tells the "
                 "complainant")
        if _interim(on):
            return Basis(INTERIM, "第十四条", *words, confirmed=True)
        return Basis(NEW, "", *words)
    return Basis(CPL, "第三十七条第一款第（四）项", "受理消费者的投诉，并对投诉事项进行调查、调解",
                 "accepts consumers' complaints, investigates and mediates them", confirmed=True)


def forward_basis(*, track: str, on: date) -> Basis:
    """Forwarding to the competent body: for a seller on a platform, the regulator where the seller actually
    operates or where the platform operator is domiciled (暂行办法 art. 10, unconfirmed item wording)."""
    words = ("对平台内经营者的投诉，由其实际经营地或者平台经营者住所地县级市场监督管理部门处理",
             "a complaint against a seller on a platform is handled where the seller actually operates or where "
             "the platform operator is domiciled")
    if track == Track.MARKET_REGULATOR:
        return Basis(INTERIM, "第十条", *words) if _interim(on) else Basis(NEW, "", *words)
    return Basis("", "", "投诉由被投诉人所在地（平台内经营者没有有效地址的，平台经营者住所地）的消费者协会处理",
                 "a complaint is handled by the association where the respondent is (for a seller on a platform "
                 "with no valid address, where the platform operator is domiciled)")


# --- mediation and after ---------------------------------------------------------------------------------------

TERMINATION_WORDS: dict[str, tuple[str, str, str]] = {
    TerminationReason.WITHDRAWN: ("投诉人撤回投诉或者双方自行和解", "the complainant withdrew or the parties settled", "（一）"),
    TerminationReason.TESTING_DISPUTE: ("投诉人与被投诉人对委托承担检定、检验、检测、鉴定工作的技术机构或者费用承担无法协商一致",
                                        "the parties could not agree on the testing body or its cost", "（二）"),
    TerminationReason.REFUSED_TO_MEDIATE: ("投诉人或者被投诉人无正当理由不参加调解，或者被投诉人明确拒绝调解",
                                           "a party did not attend without good reason, or the respondent refused "
                                           "mediation", "（三）"),
    TerminationReason.NO_AGREEMENT: ("经组织调解，投诉人或者被投诉人明确表示无法达成调解协议",
                                     "after mediation a party stated that no agreement is possible", "（四）"),
    TerminationReason.TIME_LIMIT: ("自投诉受理之日起在调解期限内投诉人和被投诉人未能达成调解协议",
                                   "no agreement within the mediation time limit counted from acceptance", "（五）"),
    TerminationReason.GROUND_FOUND: ("受理投诉后，发现存在不予受理情形",
                                     "a ground for non-acceptance was found after acceptance", "（六）"),
}


def termination_basis(reason: str, *, track: str, on: date) -> Basis:
    zh, en, item = TERMINATION_WORDS[reason]
    if track == Track.MARKET_REGULATOR:
        return Basis(INTERIM, f"第二十一条第一款第{item}项", zh, en) if _interim(on) else Basis(NEW, "", zh, en)
    return Basis(CPL, "第三十七条第一款第（四）项", zh, en, confirmed=True)


def next_options(*, track: str) -> list[tuple[str, str]]:
    """The consumer's ways on after a termination (消费者权益保护法 art. 39)."""
    options = [
        ("向有关行政部门投诉（全国12315平台）", "complain to the administrative authority (12315)"),
        ("依据与经营者达成的仲裁协议提请仲裁机构仲裁", "apply for arbitration under an arbitration agreement with the merchant"),
        ("向人民法院提起诉讼（标的额较小的可适用小额诉讼程序）",
         "sue in a people's court (the small-claims procedure for small amounts)"),
    ]
    if track == Track.MARKET_REGULATOR:
        options[0] = ("请求消费者协会或者依法成立的其他调解组织调解",
                      "ask a consumer association or another lawful mediation body to mediate")
    else:
        options.append(("请求本会依法支持起诉（《消费者权益保护法》第三十七条第一款第（七）项）",
                        "ask this association to support the lawsuit (CPL art. 37(1)(7))"))
    return options


SUPPORT_BASIS = Basis(CPL, "第三十七条第一款第（七）项",
                      "就损害消费者合法权益的行为，支持受损害的消费者提起诉讼或者依照本法提起诉讼",
                      "supports injured consumers in bringing a lawsuit against conduct harming their lawful rights",
                      confirmed=True)
SUPPORT_CIVIL = Basis("《中华人民共和国民事诉讼法》", "第十五条",
                      "机关、社会团体、企业事业单位对损害国家、集体或者个人民事权益的行为，可以支持受损害的单位或者个人向人民法院起诉",
                      "bodies and organizations may support an injured person in suing", confirmed=True)
PUBLIC_INTEREST_BASIS = Basis(CPL, "第四十七条",
                              "对侵害众多消费者合法权益的行为，中国消费者协会以及在省、自治区、直辖市设立的消费者协会，可以向人民法院提起诉讼",
                              "the China Consumers Association and the provincial associations may sue over conduct "
                              "harming many consumers", confirmed=True)
PUBLIC_INTEREST_LEVELS = frozenset({"national", "province"})


# --- clocks -----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ClockRule:
    version: Version

    @property
    def amount(self) -> int:
        return self.version.amount

    @property
    def unit(self) -> str:
        return self.version.unit


def clock_rule(kind: str, *, track: str, on: date, book: RuleBook | None = None) -> ClockRule:
    key = (ACCEPTANCE_KEY if kind == "acceptance" else MEDIATION_KEY)[track]
    return ClockRule((book or RuleBook.load()).get(key, on))


def clock_due(*, start: datetime, amount: int, unit: str, cal: Calendar | None = None) -> tuple[datetime, bool]:
    """(due, provisional): the end of the `amount`-th working day (or day) after `start`'s date."""
    cal = cal or Calendar.load()
    if unit == Unit.WORKING_DAYS:
        return cal.add_working_days(start, amount)
    return cal.add_days(start, amount)


def units_between(*, after: datetime, until: datetime, unit: str, cal: Calendar | None = None) -> int:
    """How many units of the clock a pause from `after` to `until` took away (given back on resume)."""
    cal = cal or Calendar.load()
    if unit == Unit.WORKING_DAYS:
        return cal.working_days_between(after, until)
    from escalation.calendar import local_date

    return max((local_date(until) - local_date(after)).days, 0)
