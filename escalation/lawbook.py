"""The statutory values the service counts with, by effective date: one table of rule versions.

`SEED` is the first content of the `RuleVersion` table (written by a data migration; supervisors add a row
in the admin when the law changes, which recounts the open deadlines). `RuleBook.load()` reads the table
once; `book.get(key, on=date)` is the version in force on that day, falling back to `SEED` when the
table has no row for it (a fresh database before its migration, or a test that emptied it).

Which day decides: a complaint is counted on the version in force on the day it was *submitted*
(总局令第121号 in force 2026-04-15: a complaint submitted on 2026-04-14 runs on the 暂行办法 to its end).

`confirmed=False` means the value or the article could not be checked against an official text here: it
is shown as "unconfirmed" in the admin, the API and the README, and a supervisor should check it.
"""

from __future__ import annotations

import calendar as _calendar
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from kameng_api.core.snapshots import Snapshot

from .codes import RuleKey, Unit

K = RuleKey
INTERIM_MEASURES = "《市场监督管理投诉举报处理暂行办法》(国家市场监督管理总局令第20号公布，2022年总局令第55号、第61号修正)"
NEW_MEASURES = "《市场监督管理投诉举报处理办法》(国家市场监督管理总局令第121号)"
NEW_MEASURES_FROM = date(2026, 4, 15)
INTERIM_TO = date(2026, 4, 14)
CIVIL_PROCEDURE = "《中华人民共和国民事诉讼法》(2023年修正)"
SAMR_GOV = "https://www.samr.gov.cn/"
NPC_FLK = "https://flk.npc.gov.cn/"

UNCONFIRMED_NEW = ("总局令第121号的条文号与时限未能从官方文本核实：暂按《暂行办法》的数值计算，由主管核对后修改。 "
                   "The article number and the limit of the new Measures could not be checked against the "
                   "official text: the interim Measures' figure is carried over until a supervisor confirms it.")

SEED: tuple[dict, ...] = (
    # 12315: acceptance
    dict(key=K.ACCEPTANCE_12315, value=7, unit=Unit.WORKING_DAYS, law=INTERIM_MEASURES, article="第十四条",
         quote="市场监督管理部门应当自收到投诉之日起七个工作日内作出受理或者不予受理的决定，并告知投诉人。",
         source_url=SAMR_GOV, effective_from=date(2020, 1, 1), effective_to=INTERIM_TO, confirmed=True),
    dict(key=K.ACCEPTANCE_12315, value=7, unit=Unit.WORKING_DAYS, law=NEW_MEASURES, article="",
         quote="", source_url=SAMR_GOV, effective_from=NEW_MEASURES_FROM, effective_to=None, confirmed=False,
         note=UNCONFIRMED_NEW),
    # 12315: mediation
    dict(key=K.MEDIATION_12315, value=45, unit=Unit.WORKING_DAYS, law=INTERIM_MEASURES, article="第二十一条",
         quote="有下列情形之一的，终止调解：……（三）自投诉受理之日起四十五个工作日内投诉人和被投诉人未能达成调解协议的。",
         source_url=SAMR_GOV, effective_from=date(2020, 1, 1), effective_to=INTERIM_TO, confirmed=True),
    dict(key=K.MEDIATION_12315, value=45, unit=Unit.WORKING_DAYS, law=NEW_MEASURES, article="",
         quote="", source_url=SAMR_GOV, effective_from=NEW_MEASURES_FROM, effective_to=None, confirmed=False,
         note=UNCONFIRMED_NEW),
    # 12315: the same dispute before another body (double filing)
    dict(key=K.DOUBLE_FILING, value=None, unit=Unit.RATIO, law=INTERIM_MEASURES, article="第十五条第（二）项",
         quote="法院、仲裁机构、市场监督管理部门或者其他行政机关、消费者协会或者依法成立的其他调解组织已经受理或者处理过同一"
               "消费者权益争议的，不予受理。",
         source_url=SAMR_GOV, effective_from=date(2020, 1, 1), effective_to=INTERIM_TO, confirmed=False,
         note="条文与项号据2022年修正文本的公开转载核对，未能从官方网站核实；同条第（三）项：不是为生活消费需要购买的，"
              "不予受理。 Checked against published reproductions of the 2022 text, not the official site; item (3) "
              "of the same article refuses purchases not for personal consumption."),
    dict(key=K.DOUBLE_FILING, value=None, unit=Unit.RATIO, law=NEW_MEASURES, article="",
         quote="", source_url=SAMR_GOV, effective_from=NEW_MEASURES_FROM, effective_to=None, confirmed=False,
         note=UNCONFIRMED_NEW),
    # Reports (举报) to the market regulator
    dict(key=K.REPORT_DECISION, value=15, unit=Unit.WORKING_DAYS, extension=15,
         law="《市场监督管理行政处罚程序规定》(国家市场监督管理总局令第2号，2022年总局令第61号修改)", article="第十八条",
         quote="对……通过投诉、举报……等途径发现的违法行为线索，应当自发现线索或者收到材料之日起十五个工作日内予以核查，由市场"
               "监督管理部门负责人决定是否立案；特殊情况下……可以延长十五个工作日。",
         source_url=SAMR_GOV, effective_from=date(2019, 4, 1), effective_to=None, confirmed=False,
         note="十五个工作日据公开转载；条文号未能从现行官方文本核实。 Fifteen working days per published copies; the "
              "article number is unconfirmed."),
    # Courts
    dict(key=K.SMALL_CLAIMS_RATIO, value=Decimal("0.5"), unit=Unit.RATIO, law=CIVIL_PROCEDURE, article="第一百六十五条",
         quote="标的额为各省、自治区、直辖市上年度就业人员年平均工资百分之五十以下的，适用小额诉讼的程序审理，实行一审终审。",
         source_url=NPC_FLK, effective_from=date(2022, 1, 1), effective_to=None, confirmed=True),
    dict(key=K.SMALL_CLAIMS_TERM, value=2, unit=Unit.MONTHS, extension=1, law=CIVIL_PROCEDURE, article="第一百六十九条",
         quote="人民法院适用小额诉讼的程序审理案件，应当在立案之日起两个月内审结。有特殊情况需要延长的，经本院院长批准，可以延长一个月。",
         source_url=NPC_FLK, effective_from=date(2022, 1, 1), effective_to=None, confirmed=True),
    dict(key=K.SIMPLE_PROCEDURE_TERM, value=3, unit=Unit.MONTHS, extension=1, law=CIVIL_PROCEDURE,
         article="第一百六十四条",
         quote="人民法院适用简易程序审理案件，应当在立案之日起三个月内审结。有特殊情况需要延长的，经本院院长批准，可以延长一个月。",
         source_url=NPC_FLK, effective_from=date(2022, 1, 1), effective_to=None, confirmed=True),
    dict(key=K.ORDINARY_PROCEDURE_TERM, value=6, unit=Unit.MONTHS, extension=6, law=CIVIL_PROCEDURE,
         article="第一百五十二条", quote="人民法院适用普通程序审理的案件，应当在立案之日起六个月内审结。",
         source_url=NPC_FLK, effective_from=date(2022, 1, 1), effective_to=None, confirmed=True),
    # Police
    dict(key=K.POLICE_FILING, value=30, unit=Unit.CALENDAR_DAYS,
         law="公安部《关于改革完善受案立案制度的意见》(2015)", article="",
         quote="立案审查期限原则上不超过3日；涉嫌犯罪线索需要查证的，不超过7日；重大疑难复杂案件，经批准可以延长至30日。",
         source_url="https://www.mps.gov.cn/", effective_from=date(2016, 1, 1), effective_to=None, confirmed=False,
         note="按最长30日计；文件与日期未能从官方文本核实。 Counted at the longest, 30 days; unconfirmed."),
    dict(key=K.LEGAL_AID_REVIEW, value=7, unit=Unit.CALENDAR_DAYS, law="《中华人民共和国法律援助法》", article="第四十三条",
         quote="法律援助机构应当自收到法律援助申请之日起七日内进行审查，作出是否给予法律援助的决定。",
         source_url=NPC_FLK, effective_from=date(2022, 1, 1), effective_to=None, confirmed=True),
    # Criminal thresholds
    dict(key=K.FRAUD_THRESHOLD_NETWORK, value=3000, unit=Unit.CNY,
         law="《最高人民法院、最高人民检察院、公安部关于办理电信网络诈骗等刑事案件适用法律若干问题的意见》(法发〔2016〕32号)",
         article="二、(一)",
         quote="利用电信网络技术手段实施诈骗，诈骗公私财物价值三千元以上……的，应当分别认定为刑法第二百六十六条规定的“数额较大”"
               "……二年内多次实施电信网络诈骗未经处理，诈骗数额累计计算构成犯罪的，应当依法定罪处罚。",
         source_url="https://www.court.gov.cn/", effective_from=date(2016, 12, 19), effective_to=None, confirmed=True),
    dict(key=K.FRAUD_THRESHOLD_GENERAL, value=3000, unit=Unit.CNY,
         law="《最高人民法院、最高人民检察院关于办理诈骗刑事案件具体应用法律若干问题的解释》(法释〔2011〕7号)",
         article="第一条",
         quote="诈骗公私财物价值三千元至一万元以上……应当分别认定为刑法第二百六十六条规定的“数额较大”……各省……可以在规定的数额幅度内"
               "……确定本地区执行的具体数额标准。",
         source_url="https://www.court.gov.cn/", effective_from=date(2011, 4, 8), effective_to=None, confirmed=True),
    # Punitive damages
    dict(key=K.PUNITIVE_MULTIPLIER, value=3, unit=Unit.RATIO, law="《中华人民共和国消费者权益保护法》(2013年修正)",
         article="第五十五条第一款",
         quote="经营者提供商品或者服务有欺诈行为的，应当按照消费者的要求增加赔偿其受到的损失，增加赔偿的金额为消费者购买商品的价款"
               "或者接受服务的费用的三倍；增加赔偿的金额不足五百元的，为五百元。",
         source_url=NPC_FLK, effective_from=date(2014, 3, 15), effective_to=None, confirmed=True),
    dict(key=K.PUNITIVE_MINIMUM, value=500, unit=Unit.CNY, law="《中华人民共和国消费者权益保护法》(2013年修正)",
         article="第五十五条第一款", quote="增加赔偿的金额不足五百元的，为五百元。",
         source_url=NPC_FLK, effective_from=date(2014, 3, 15), effective_to=None, confirmed=True),
)


# The consumer association's own time limits. 消费者权益保护法 art. 37(1)(4) gives the association the duty to
# accept and mediate complaints but fixes no time limit; the rules of 中国消费者协会 and of provincial
# associations on handling complaints could not be read from an official text here. Carried as data at the
# 12315 figures (7 working days to decide, 45 working days to mediate), unconfirmed, for a supervisor to
# replace with the association's own published rule.
ASSOCIATION_RULES = "消费者协会受理消费者投诉的工作规定"
ASSOCIATION_NOTE = ("消费者协会的受理、调解时限未能从官方文本核实：暂按12315的时限计算，由主管按本会公布的规定修改。 "
                    "The association's own limits could not be checked against an official text: the 12315 figures "
                    "are carried over until a supervisor enters the association's published rule.")
SEED = SEED + (
    dict(key=K.ASSOCIATION_ACCEPTANCE, value=7, unit=Unit.WORKING_DAYS, law=ASSOCIATION_RULES, article="",
         quote="消费者协会履行下列公益性职责：……（四）受理消费者的投诉，并对投诉事项进行调查、调解（《消费者权益保护法》"
               "第三十七条第一款第（四）项；未规定时限）",
         source_url=NPC_FLK, effective_from=date(2014, 3, 15), effective_to=None, confirmed=False,
         note=ASSOCIATION_NOTE),
    dict(key=K.ASSOCIATION_MEDIATION, value=45, unit=Unit.WORKING_DAYS, law=ASSOCIATION_RULES, article="",
         quote="", source_url=NPC_FLK, effective_from=date(2014, 3, 15), effective_to=None, confirmed=False,
         note=ASSOCIATION_NOTE),
)


PRACTICE = "实务（无法定时限）"
PRACTICE_NOTE = "工作假设，不是法定时限，由机构按实际情况修改。 A working assumption, not a statutory limit."


def _practice(key, value, unit, quote, start=date(2020, 1, 1)):
    return dict(key=key, value=value, unit=unit, law=PRACTICE, article="", quote=quote, source_url="",
                effective_from=start, effective_to=None, confirmed=False, note=PRACTICE_NOTE)


SEED = SEED + (
    _practice(K.EVIDENCE_PRESERVATION, 24, Unit.HOURS, "发现问题后立即截图、录屏，24小时内固定证据（实务）"),
    _practice(K.MERCHANT_ANSWER, 48, Unit.HOURS, "商家在48小时内未响应或拒绝处理，即可启动平台申诉（实务）"),
    _practice(K.ASSOCIATION_ANSWER, 7, Unit.WORKING_DAYS, "与12315受理时限对齐；消费者协会无法定答复时限"),
    _practice(K.CYBERSPACE_ANSWER, 15, Unit.WORKING_DAYS, "网信部门投诉无法定答复时限"),
    _practice(K.COMMUNICATIONS_ANSWER, 15, Unit.WORKING_DAYS, "通信管理局举报无法定答复时限"),
    _practice(K.PAYMENT_DISPUTE_ANSWER, 5, Unit.WORKING_DAYS, "支付机构公布的争议处理周期（实务）"),
    _practice(K.PUBLIC_COMPLAINT_ANSWER, 5, Unit.WORKING_DAYS, "公开投诉平台转交企业处理的周期（实务）"),
    _practice(K.INDUSTRY_ASSOCIATION_ANSWER, 15, Unit.WORKING_DAYS, "行业协会调解无法定时限"),
    _practice(K.CARD_CHARGEBACK_ANSWER, 30, Unit.WORKING_DAYS, "卡组织拒付处理周期（实务）"),
)


@dataclass(frozen=True)
class Version:
    """A rule version as the service reads it (a saved row, or a `SEED` entry)."""

    key: str
    value: Decimal | None
    unit: str
    law: str
    article: str
    effective_from: date
    effective_to: date | None
    confirmed: bool
    extension: Decimal | None = None
    quote: str = ""
    note: str = ""
    pk: int | None = None

    @property
    def citation(self) -> str:
        return f"{self.law}{self.article}" if self.article else f"{self.law}(条文号未核实)"

    @property
    def short_citation(self) -> str:
        """The law's title without the issuing note in brackets, with the article."""
        title = self.law.split("(")[0]
        return f"{title}{self.article}" if self.article else f"{title}(条文号未核实)"

    @property
    def amount(self) -> int:
        return int(self.value or 0)

    def in_force(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)

    def as_dict(self) -> dict:
        return {"key": self.key, "value": None if self.value is None else str(self.value), "unit": self.unit,
                "law": self.law, "article": self.article, "citation": self.citation,
                "effective_from": self.effective_from.isoformat(),
                "effective_to": self.effective_to.isoformat() if self.effective_to else None,
                "confirmed": self.confirmed, "id": self.pk}


def _version(row) -> Version:
    get: Callable[..., Any] = row.get if isinstance(row, dict) else (lambda name, default=None: getattr(row, name, default))
    value = get("value")
    extension = get("extension")
    return Version(key=get("key"), value=None if value is None else Decimal(str(value)), unit=get("unit"),
                   law=get("law"), article=get("article", "") or "", effective_from=get("effective_from"),
                   effective_to=get("effective_to"), confirmed=bool(get("confirmed", False)),
                   extension=None if extension is None else Decimal(str(extension)), quote=get("quote", "") or "",
                   note=get("note", "") or "", pk=get("pk", None) if not isinstance(row, dict) else None)


SEED_VERSIONS = tuple(_version(row) for row in SEED)


class RuleBook:
    """One snapshot of the rule table (one query), used for a batch of computations."""

    def __init__(self, versions):
        self.versions: dict[str, list[Version]] = {}
        for version in versions:
            self.versions.setdefault(version.key, []).append(version)
        for versions in self.versions.values():
            versions.sort(key=lambda v: v.effective_from)

    @classmethod
    def load(cls) -> RuleBook:
        """The rule table as it stands (kept per process until a version changes: core/snapshots.py)."""
        return RULE_TABLE.get()

    @classmethod
    def read(cls) -> RuleBook:
        from .models import RuleVersion

        try:
            rows = [_version(row) for row in RuleVersion.objects.all()]
            if not rows:
                rows = [_version(row) for row in rule_versions_seed()]
        except Exception:  # noqa: BLE001 - a database without the table yet (first migrate)
            rows = []
        keys = {row.key for row in rows}
        return cls(rows + [v for v in SEED_VERSIONS if v.key not in keys])

    @classmethod
    def seed(cls) -> RuleBook:
        return cls(SEED_VERSIONS)

    def get(self, key: str, on: date) -> Version:
        """The version in force on `on`; before the first one, the first; after a gap, the latest before."""
        versions = self.versions.get(key) or [v for v in SEED_VERSIONS if v.key == key]
        chosen = versions[0]
        for version in versions:
            if version.effective_from <= on:
                chosen = version
            if version.in_force(on):
                return version
        return chosen


RULE_TABLE: Snapshot[RuleBook] = Snapshot("rule-table", RuleBook.read)


def rule_versions_seed() -> list:
    """Write `SEED` into an empty rule table (a fresh or flushed database) and return the rows."""
    from .models import RuleVersion

    RuleVersion.objects.bulk_create([RuleVersion(**row) for row in SEED], ignore_conflicts=True)
    RULE_TABLE.renew()  # bulk_create sends no signal
    return list(RuleVersion.objects.all())


def small_claims_limits_seed() -> None:
    from .models import SmallClaimsLimit

    SmallClaimsLimit.objects.bulk_create([SmallClaimsLimit(**row) for row in SMALL_CLAIMS_SEED],
                                         ignore_conflicts=True)


def add_months(day: date, months: int) -> date:
    """民法典 art. 202: a period in months ends on the corresponding day of the last month, or its last day."""
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    return date(year, month, min(day.day, _calendar.monthrange(year, month)[1]))


# Small-claims limits (民事诉讼法 art. 165): 50 % of the province's previous-year average annual wage of the
# employed. ESTIMATES, unconfirmed: rounded 2023 average wages of urban non-private units as remembered from
# the statistical bulletins, not the figures the provincial high courts published. A supervisor must enter
# the published figure of the current year (admin: small-claims limits). Until then an amount near the
# limit is reported as uncertain (recommendation warning).
SMALL_CLAIMS_WAGES_2023 = {
    "11": 228000, "12": 138000, "13": 95000, "14": 97000, "15": 111000, "21": 100000, "22": 95000,
    "23": 94000, "31": 220000, "32": 125000, "33": 133000, "34": 107000, "35": 112000, "36": 95000,
    "37": 106000, "41": 87000, "42": 108000, "43": 98000, "44": 129000, "45": 97000, "46": 115000,
    "50": 113000, "51": 112000, "52": 106000, "53": 107000, "54": 165000, "61": 106000, "62": 98000,
    "63": 122000, "64": 115000, "65": 113000,
}
SMALL_CLAIMS_SEED = tuple(
    dict(province=code, wage_year=2023, average_wage=Decimal(wage), limit=Decimal(wage) / 2,
         applies_from=date(2024, 6, 1), confirmed=False,
         source="估算(2023年城镇非私营单位就业人员平均工资，约数)，未核实；以省高级人民法院公布的标准为准。 Estimate, unconfirmed.")
    for code, wage in SMALL_CLAIMS_WAGES_2023.items()
)
# Whatever the province, an amount up to this is within every province's limit (the lowest estimated limit,
# rounded down): used when the consumer's province is not recorded. Unconfirmed, like the table it comes from.
SMALL_CLAIMS_FLOOR = Decimal(40000)


@dataclass(frozen=True)
class SmallClaims:
    applies: bool | None  # None: cannot tell (province or its figure unknown)
    limit: Decimal | None
    province: str
    confirmed: bool
    source: str


def small_claims_check(*, amount: Decimal, province: str, on: date) -> SmallClaims:
    """Is `amount` within the small-claims limit of `province` on `on`?"""
    from .models import SmallClaimsLimit

    row = None
    if province:
        rows = SmallClaimsLimit.objects.filter(province=province, applies_from__lte=on).order_by("-applies_from")
        row = rows.first()
        if row is None and not SmallClaimsLimit.objects.exists():
            small_claims_limits_seed()
            row = rows.first()
    if row is not None:
        return SmallClaims(amount <= row.limit, row.limit, province, row.confirmed, row.source)
    if amount <= SMALL_CLAIMS_FLOOR:
        return SmallClaims(True, SMALL_CLAIMS_FLOOR, province, False, "floor of the estimated table")
    return SmallClaims(None, None, province, False, "")


# The amount bands of fraud (刑法 art. 266), as data with their source: the group police report (报案材料 of a
# 群体投诉) compares the victims' total loss with them. Each province fixes its own figure inside each band
# (art. 1, second paragraph), so a report states the band, never a single national figure. The lower bound of
# "数额较大" is also the rule-table row `fraud_threshold_general` (a supervisor may update it there).
FRAUD_BANDS_SOURCE = {
    "law": "《最高人民法院、最高人民检察院关于办理诈骗刑事案件具体应用法律若干问题的解释》(法释〔2011〕7号)",
    "article": "第一条",
    "quote": "诈骗公私财物价值三千元至一万元以上、三万元至十万元以上、五十万元以上的，应当分别认定为刑法第二百六十六条规定的"
             "“数额较大”、“数额巨大”、“数额特别巨大”。各省、自治区、直辖市高级人民法院、人民检察院可以结合本地区经济社会发展状况，"
             "在前款规定的数额幅度内，共同研究确定本地区执行的具体数额标准，报最高人民法院、最高人民检察院备案。",
    "source_url": "https://www.court.gov.cn/",
    "effective_from": date(2011, 4, 8),
    "confirmed": False,
    "note": "条文据公开转载的文本核对，未能在此从官方网站核实；适用时以本省公布的具体数额标准为准。 Checked against published "
            "reproductions of the text, not the official site; the province's own figure inside each band applies.",
}
FRAUD_BANDS: tuple[dict, ...] = (
    {"band": "数额较大", "band_en": "a relatively large amount", "low": Decimal(3000), "high": Decimal(10000),
     "sentence": "三年以下有期徒刑、拘役或者管制，并处或者单处罚金",
     "sentence_en": "up to three years' imprisonment, criminal detention or public surveillance, and/or a fine"},
    {"band": "数额巨大", "band_en": "a huge amount", "low": Decimal(30000), "high": Decimal(100000),
     "sentence": "三年以上十年以下有期徒刑，并处罚金",
     "sentence_en": "three to ten years' imprisonment and a fine"},
    {"band": "数额特别巨大", "band_en": "an especially huge amount", "low": Decimal(500000), "high": None,
     "sentence": "十年以上有期徒刑或者无期徒刑，并处罚金或者没收财产",
     "sentence_en": "ten years' or life imprisonment, and a fine or confiscation of property"},
)
CRIMINAL_LAW_266 = "《中华人民共和国刑法》第二百六十六条"
