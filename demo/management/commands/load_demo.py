"""Demo data that looks like a year of work, for `make run`, trying the API and the admin, and the admin
benchmark: two organizations (the second one to see that nothing crosses over), one user per role,
platforms with different profiles, ~500 cases over twelve months at every rung of the ladder, with
evidence files, answers, outcomes and ratings; one platform absconds, with a spike of complaints that
becomes a mass incident (a group complaint).

Everything is written through the services (cases, evidence, escalation), as a clerk would; only the
dates are moved back afterwards, since the services stamp "now" on what they record. Running it again
changes nothing (the organization's cases exist: it stops)."""

import random
import struct
import time
import zlib
from datetime import timedelta
from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from cases.codes import ClaimKind, DisputeType, Outcome, PaymentChannel, ProductType, Status
from cases.models import Case, CaseEvent, Organization, Platform, User
from cases.services import case_assign, case_create, case_transition, organization_create, staff_user_create
from kameng_api.core.roles import Role

DEMO_PASSWORD = "kameng-demo-2026"  # noqa: S105 - published demo login
DEMO_ORG = "demo-cca"
OTHER_ORG = "demo-other"
USERS = [("intake", Role.INTAKE), ("handler", Role.HANDLER), ("supervisor", Role.SUPERVISOR),
         ("analyst", Role.ANALYST)]
MORE_HANDLERS = ["handler2", "handler3"]
OTHER_USERS = [("other-intake", Role.INTAKE), ("other-handler", Role.HANDLER), ("other-supervisor", Role.SUPERVISOR)]

# name, registry data, profile: weight of cases, chance the merchant / platform settles, answer delay (h)
PLATFORMS = [
    ({"name": "速购卡盟", "domains": ["sugou-kameng.example.cn"], "company_name": "杭州速购网络科技有限公司",
      "credit_code": "91330100MA2H0AAA1B", "icp_number": "浙ICP备2026000001号", "has_deposit_scheme": True,
      "complaint_window_hours": 72, "response_working_days": 3},
     {"weight": 30, "settles": 0.75, "answer_hours": (2, 30)}),
    ({"name": "星辰发卡网", "domains": ["xingchen-card.example.com"], "company_name": "",
      "credit_code": "", "icp_number": "", "has_deposit_scheme": False, "complaint_window_hours": 24,
      "response_working_days": 3},
     {"weight": 20, "settles": 0.25, "answer_hours": (30, 120)}),
    ({"name": "GlobalKeys", "domains": ["globalkeys.example.net"], "company_name": "GlobalKeys Ltd.",
      "complaint_window_hours": 168, "response_working_days": 5, "cross_border": True},
     {"weight": 12, "settles": 0.4, "answer_hours": (48, 200)}),
    ({"name": "游易通", "domains": ["youyitong.example.cn"], "company_name": "广州游易通信息技术有限公司",
      "credit_code": "91440100MA5D0BBB2C", "icp_number": "粤ICP备2025001234号", "has_deposit_scheme": True,
      "complaint_window_hours": 48, "response_working_days": 2},
     {"weight": 22, "settles": 0.6, "answer_hours": (4, 60)}),
    ({"name": "闪电卡盟", "domains": ["shandian-km.example.cn"], "company_name": "深圳闪电网络有限公司",
      "credit_code": "", "icp_number": "粤ICP备2024009999号", "has_deposit_scheme": False,
      "complaint_window_hours": 24, "response_working_days": 3},
     {"weight": 10, "settles": 0.1, "answer_hours": (60, 240), "absconds": True}),
]
MERCHANTS = {
    "速购卡盟": ["星辰点卡店", "乐玩数码", "极速充值"], "星辰发卡网": ["游侠账号行", "夜猫发卡", "秒发卡密"],
    "GlobalKeys": ["KeyHub", "SteamDeals"], "游易通": ["易通充值", "好运点卡"], "闪电卡盟": ["闪电自营", "雷霆卡密"],
}
NAMES = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄强", "周杰", "吴婷", "徐明", "孙丽", "马超", "朱琳"]
STORIES = {
    "invalid_code": "购买的卡密提示“无效或已使用”，联系商家称已发货不予处理。",
    "delivery_delay": "付款后超过48小时未到账，商家一直说“系统繁忙”。",
    "not_as_described": "商品页写的是30天会员，实际只有7天。",
    "account_recovered": "购买的游戏账号两周后被原主找回，商家拒绝赔付。",
    "refund_refused": "未使用的激活码申请退款，商家以“虚拟商品不退不换”为由拒绝。",
    "platform_absconded": "平台突然无法访问，余额和未到账订单均无法处理，客服失联。",
    "fraud": "收款后商家拉黑消费者，卡密从未发出。",
}


def _png(rows: list[tuple[int, int, int]], width: int = 160, height: int = 96) -> bytes:
    """A small PNG of coloured bands (a stand-in for a screenshot)."""
    band = max(1, height // len(rows))
    raw = b""
    for y in range(height):
        colour = rows[min(y // band, len(rows) - 1)]
        raw += b"\x00" + bytes(colour) * width

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def _pdf(text: str) -> bytes:
    body = (f"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>"
            f"endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 300 144]/Contents 4 0 R>>endobj\n"
            f"4 0 obj<</Length {len(text) + 30}>>stream\nBT /F1 12 Tf 20 100 Td ({text}) Tj ET\nendstream endobj\n"
            "trailer<</Root 1 0 R>>\n%%EOF\n")
    return body.encode("latin-1")


def _upload(content: bytes, name: str):
    from evidence.uploads import upload_from_bytes

    return upload_from_bytes(content, name)


class Command(BaseCommand):
    help = ("Load demo data (password kameng-demo-2026): two organizations, users per role, platforms and "
            "about 500 cases over twelve months with evidence, escalations, answers and outcomes.")

    def add_arguments(self, parser):
        parser.add_argument("--cases", type=int, default=500)

    def handle(self, *args, cases, **options):
        started = time.monotonic()
        org = self._organization(DEMO_ORG, "示范市消费者协会 (demo)", USERS + [(u, Role.HANDLER) for u in MORE_HANDLERS])
        other = self._organization(OTHER_ORG, "邻市消费者权益保护委员会 (demo)", OTHER_USERS)
        profiles = {}
        for data, profile in PLATFORMS:
            platform, _created = Platform.objects.get_or_create(name=data["name"], defaults=data)
            profiles[platform.pk] = (platform, profile)
        if Case.objects.filter(organization=org).exists():
            self.stdout.write("Demo data already loaded.")
            return
        rng = random.Random(2026)  # noqa: S311 - demo data, not security
        self.files = {
            "png": [_png([(rng.randint(40, 250), rng.randint(40, 250), rng.randint(40, 250)) for _ in range(6)])
                    for _ in range(8)],
        }
        with transaction.atomic():  # one commit: fast on SQLite, and all or nothing
            count = self._load(org, profiles, cases, rng)
            other_count = self._load(other, profiles, max(10, cases // 25), rng, prefix="OTH")
        from notifications.services import deadline_alerts_scan
        from stats.services import stats_rebuild
        from stats.spikes import spikes_detect

        spikes_detect()
        deadline_alerts_scan()  # the alerts the beat would raise in its first minute
        stats_rebuild()  # analysts see figures at once, not after the first periodic refresh
        self.stdout.write(f"Loaded {org.name} and {other.name}: users {', '.join(u for u, _r in USERS)} "
                          f"(password {DEMO_PASSWORD}), {len(profiles)} platforms, {count} + {other_count} cases "
                          f"in {time.monotonic() - started:.1f} s.")

    def _organization(self, slug, name, users):
        # Both demo bodies are consumer associations, so the demo shows their own procedure (受理, 调解).
        org = Organization.objects.filter(slug=slug).first() or organization_create(
            slug=slug, name=name, kind=Organization.Kind.CONSUMER_ASSOCIATION, level=Organization.Level.CITY,
            address="示范市人民路 1 号 (demo)")
        for username, role in users:
            if not User.objects.filter(username=username).exists():
                staff_user_create(username=username, organization=org, role=role, password=DEMO_PASSWORD,
                                  email=f"{username}@demo.example.cn")
        return org

    def _load(self, org, profiles, total, rng, prefix="DEMO"):
        users = {u.username: u for u in User.objects.filter(organization=org)}
        handlers = [u for u in users.values() if u.role == Role.HANDLER]
        supervisor = next(u for u in users.values() if u.role == Role.SUPERVISOR)
        intake = next((u for u in users.values() if u.role == Role.INTAKE), handlers[0])
        platforms = list(profiles.values())
        weights = [p[1]["weight"] for p in platforms]
        now = timezone.now()
        made = 0
        absconder = next(p for p in platforms if p[1].get("absconds"))
        spike = total // 12 if prefix == "DEMO" else 0
        specs = []
        for i in range(total):
            if i < spike:  # the absconding platform's last day: a burst of complaints (the group complaint)
                platform, profile = absconder
                age = timedelta(hours=rng.uniform(1, 20))
                dispute = DisputeType.PLATFORM_ABSCONDED
            else:
                platform, profile = rng.choices(platforms, weights=weights)[0]
                age = timedelta(days=rng.triangular(0, 365, 40), hours=rng.uniform(0, 23))
                dispute = rng.choice(list(STORIES)) if not profile.get("absconds") else rng.choice(
                    [DisputeType.PLATFORM_ABSCONDED, DisputeType.FRAUD, DisputeType.DELIVERY_DELAY])
            specs.append((age, platform, profile, dispute))
        specs.sort(key=lambda spec: -spec[0])  # oldest first: references follow the order cases came in
        for i, (age, platform, profile, dispute) in enumerate(specs):
            opened = now - age
            with transaction.atomic():
                case = self._case(org, platform, opened, dispute, rng, i, prefix, intake)
                self._evidence(case, rng, intake)
                handler = rng.choice(handlers)
                closed = self._work(case, profile, rng, handler, supervisor, opened, now, age)
                if closed is None and rng.random() < 0.75:  # open cases mostly have someone on them
                    case_assign(actor=supervisor, case=case, assignee_id=handler.pk)
                self._backdate(case, opened, closed)
            made += 1
        return made

    def _case(self, org, platform, opened, dispute, rng, i, prefix, intake):
        purchased = opened - timedelta(days=rng.uniform(0.5, 6))
        paid = Decimal(rng.choice([10, 30, 50, 98, 100, 200, 328, 648, 1280, 3000, 6000]))
        claims = [{"kind": ClaimKind.REFUND, "amount": paid}]
        if dispute == DisputeType.FRAUD:
            claims.append({"kind": ClaimKind.PUNITIVE, "amount": None})
        found = min(purchased + timedelta(hours=rng.uniform(1, 60)), opened - timedelta(minutes=30))
        return case_create(actor=intake, data={
            "platform": platform,
            "merchant_name": rng.choice(MERCHANTS[platform.name]),
            "order_number": f"{prefix}{purchased:%Y%m%d}{i:05d}",
            "product_type": rng.choice(ProductType.values),
            "face_value": paid,
            "amount_paid": paid,
            "payment_channel": rng.choice(PaymentChannel.values),
            "purchased_at": purchased,
            "delivered_at": purchased + timedelta(minutes=rng.randint(1, 90)),
            "problem_found_at": max(found, purchased + timedelta(minutes=95)),
            "dispute_type": dispute,
            "description": STORIES.get(dispute, STORIES["invalid_code"]),
            "merchant_promise": "卡密保证可用，无效包换",
            "fraud_suspected": dispute == DisputeType.FRAUD,
            "consumer": {"name": rng.choice(NAMES), "phone": f"13{rng.randint(100000000, 999999999)}"},
            "claims": claims,
        })

    def _evidence(self, case, rng, actor):
        from evidence.services import evidence_add

        at = case.purchased_at + timedelta(minutes=5)
        png = rng.choice(self.files["png"])
        evidence_add(actor=actor, case=case, upload=_upload(png, "订单截图.png"), kind="order_screenshot",
                     occurred_at=at, description="订单详情页截图")
        if rng.random() < 0.35:
            chat = (f"[{case.problem_found_at:%Y-%m-%d %H:%M}] 消费者: 卡密无法使用，请处理。\n"
                    f"[{case.problem_found_at + timedelta(hours=3):%Y-%m-%d %H:%M}] 商家: 已发货，不退不换。\n"
                    f"订单 {case.order_number}\n").encode()
            evidence_add(actor=actor, case=case, upload=_upload(chat, "聊天记录.txt"), kind="chat_log",
                         occurred_at=min(case.problem_found_at + timedelta(hours=3), timezone.now()))
        if rng.random() < 0.15:
            evidence_add(actor=actor, case=case, upload=_upload(_pdf(f"Payment {case.order_number}"), "支付凭证.pdf"),
                         kind="payment_record", occurred_at=case.purchased_at)

    def _work(self, case, profile, rng, handler, supervisor, opened, now, age):
        """Up the ladder as far as the case went by now: answers after the profile's delay, then an outcome.
        Recent cases are mostly still open, at every rung; returns the closing time of a closed case."""
        from escalation.codes import Channel, EscalationOutcome, SkipReason
        from escalation.services import escalation_answer, escalation_submit

        days = age.total_seconds() / 86400
        still_open = days < 8 or (days < 120 and rng.random() < 0.35)
        if days < 0.5 or (still_open and rng.random() < 0.12):
            return None  # new, or still being registered: at intake
        if still_open and rng.random() < 0.1:
            case_transition(actor=handler, case=case, to=Status.COLLECTING_EVIDENCE, note="请消费者补充证据")
            return self._maybe_waiting(case, rng, handler, opened, now)
        lo, hi = profile["answer_hours"]
        at = opened + timedelta(hours=rng.uniform(1, 8))
        settled = False
        rungs = [(Channel.MERCHANT, handler), (Channel.PLATFORM, handler),
                 (rng.choice([Channel.C12315, Channel.CONSUMER_ASSOCIATION, Channel.PAYMENT_DISPUTE]), handler),
                 (rng.choice([Channel.SMALL_CLAIMS, Channel.POLICE, Channel.LEGAL_AID]), supervisor)]
        if profile.get("absconds"):  # nobody left to negotiate with: straight to the third party
            rungs = rungs[2:]
        target = min(len(rungs), 1 + int(rng.random() * 3.4))
        for step, (channel, actor) in enumerate(rungs[:target]):
            if at > now - timedelta(hours=2):
                still_open = True
                break
            skip = SkipReason.PLATFORM_ABSCONDED if profile.get("absconds") and step == 0 else ""
            escalation = escalation_submit(actor=actor, case=case, channel=channel, submitted_at=at, skip_reason=skip,
                                           external_reference=f"R{rng.randint(100000, 999999)}" if step >= 2 else "")
            answered = at + timedelta(hours=rng.uniform(lo, hi))
            if answered > now or (still_open and step == target - 1 and rng.random() < 0.6):
                still_open = True
                break  # waiting for this answer: its clock runs
            settles = rng.random() < profile["settles"]
            if settles:
                outcome = EscalationOutcome.RESOLVED if rng.random() < 0.7 else EscalationOutcome.PARTIAL
            else:
                outcome = rng.choice([EscalationOutcome.REFUSED, EscalationOutcome.NO_RESPONSE])
            silent = outcome == EscalationOutcome.NO_RESPONSE  # a no-response has no answer time nor text
            escalation_answer(actor=handler, escalation=escalation, responded_at=None if silent else answered,
                              outcome=outcome, response="" if silent else ("同意全额退款" if settles else "不予处理"))
            at = answered + timedelta(hours=rng.uniform(2, 48))
            if settles:
                settled = True
                break
        if still_open:
            return self._maybe_waiting(case, rng, handler, opened, now)
        case = Case.objects.get(pk=case.pk)
        if not case.is_open:
            return None
        if settled or rng.random() < 0.5:
            full = rng.random() < 0.7
            recovered = case.amount_paid if full else (case.amount_paid / 2).quantize(Decimal("0.01"))
            case_transition(actor=handler, case=case, to=Status.RESOLVED, note="纠纷已处理完毕", outcome={
                "outcome": Outcome.FAVOURABLE if full else Outcome.PARTIAL, "amount_recovered": recovered,
                "consumer_rating": rng.randint(3, 5) if full else rng.randint(2, 4)})
        elif rng.random() < 0.5:
            case_transition(actor=handler, case=case, to=Status.RESOLVED, note="未能挽回损失", outcome={
                "outcome": Outcome.UNFAVOURABLE, "amount_recovered": Decimal(0), "consumer_rating": rng.randint(1, 3)})
        else:
            case_transition(actor=handler, case=case, to=rng.choice([Status.WITHDRAWN, Status.REJECTED]),
                            note="消费者撤回投诉" if rng.random() < 0.5 else "不属于受理范围")
        return min(at, now)

    def _maybe_waiting(self, case, rng, handler, opened, now):
        """Some open cases wait for the consumer's documents, a few of them for too long."""
        if rng.random() < 0.15:
            from escalation.models import Deadline
            from escalation.services import case_waiting_set

            case_waiting_set(actor=handler, case=case, waiting=True, note="等待消费者补充支付凭证")
            since = max(opened, now - timedelta(days=rng.uniform(1, 20)))
            Deadline.objects.filter(case=case, suspended_at__isnull=False).update(suspended_at=since)
        return None

    def _backdate(self, case, opened, closed):
        """The services stamp "now"; a demo year needs the cases to have been opened (and closed) when they were."""
        fields = {"created_at": opened}
        if closed is not None:
            fields["closed_at"] = closed
            CaseEvent.objects.filter(case=case, kind="status_changed", to_status__in=[
                Status.RESOLVED, Status.REJECTED, Status.WITHDRAWN]).update(occurred_at=closed)
        Case.objects.filter(pk=case.pk).update(**fields)
        CaseEvent.objects.filter(case=case, kind__in=["created", "assigned"]).update(occurred_at=opened)
