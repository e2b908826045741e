"""A demo organization, one user per role, platforms and cases, for `make run` and for trying the API."""

import random
from datetime import timedelta
from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from cases.codes import ClaimKind, DisputeType, Outcome, PaymentChannel, ProductType, Role, Status
from cases.models import Case, Organization, Platform, User
from cases.services import case_assign, case_create, case_transition, organization_create, staff_user_create

DEMO_PASSWORD = "kameng-demo-2026"  # noqa: S105 - published demo login
DEMO_ORG = "demo-cca"
USERS = [("intake", Role.INTAKE), ("handler", Role.HANDLER), ("supervisor", Role.SUPERVISOR),
         ("analyst", Role.ANALYST)]
PLATFORMS = [
    {"name": "速购卡盟", "domains": ["sugou-kameng.example.cn"], "company_name": "杭州速购网络科技有限公司",
     "credit_code": "91330100MA2H0AAA1B", "icp_number": "浙ICP备2026000001号", "has_deposit_scheme": True,
     "complaint_window_hours": 72, "response_working_days": 3},
    {"name": "星辰发卡网", "domains": ["xingchen-card.example.com"], "company_name": "",
     "credit_code": "", "icp_number": "", "has_deposit_scheme": False, "complaint_window_hours": 24,
     "response_working_days": 3},
    {"name": "GlobalKeys", "domains": ["globalkeys.example.net"], "company_name": "GlobalKeys Ltd.",
     "complaint_window_hours": 168, "response_working_days": 5, "cross_border": True},
]
NAMES = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄强"]


class Command(BaseCommand):
    help = "Load a demo organization, one user per role (password kameng-demo-2026), platforms and cases."

    def add_arguments(self, parser):
        parser.add_argument("--cases", type=int, default=24)

    @transaction.atomic
    def handle(self, *args, cases, **options):
        org = Organization.objects.filter(slug=DEMO_ORG).first() or organization_create(
            slug=DEMO_ORG, name="示范市消费者协会 (demo)")
        for username, role in USERS:
            if not User.objects.filter(username=username).exists():
                staff_user_create(username=username, organization=org, role=role, password=DEMO_PASSWORD,
                                  email=f"{username}@demo.example.cn")
        for data in PLATFORMS:
            Platform.objects.get_or_create(name=data["name"], defaults=data)
        if Case.objects.filter(organization=org).exists():
            self.stdout.write("Demo data already loaded.")
            return
        rng = random.Random(2026)  # noqa: S311 - demo data, not security
        handler = User.objects.get(username="handler")
        created = []
        platforms = list(Platform.objects.order_by("id"))
        now = timezone.now()
        for i in range(cases):
            purchased = now - timedelta(days=rng.randint(1, 60), hours=rng.randint(0, 23))
            paid = Decimal(rng.choice([10, 30, 50, 98, 100, 200, 648, 1280, 6000]))
            dispute = rng.choice(DisputeType.values)
            claims = [{"kind": ClaimKind.REFUND, "amount": paid}]
            if dispute == DisputeType.FRAUD:
                claims.append({"kind": ClaimKind.PUNITIVE, "amount": None})
            created.append(case_create(actor=handler, data={
                "platform": platforms[i % len(platforms)],
                "merchant_name": rng.choice(["星辰点卡店", "乐玩数码", "极速充值", "游侠账号行"]),
                "order_number": f"DEMO{purchased:%Y%m%d}{i:04d}",
                "product_type": rng.choice(ProductType.values),
                "face_value": paid,
                "amount_paid": paid,
                "payment_channel": rng.choice(PaymentChannel.values),
                "purchased_at": purchased,
                "delivered_at": purchased + timedelta(minutes=rng.randint(1, 120)),
                "problem_found_at": purchased + timedelta(hours=rng.randint(1, 72)),
                "dispute_type": dispute,
                "description": "演示案件：卡密无效，商家未回复。",
                "merchant_promise": "卡密保证可用，无效包换",
                "consumer": {"name": rng.choice(NAMES), "phone": f"138{rng.randint(10000000, 99999999)}"},
                "claims": claims,
            }))
        supervisor = User.objects.get(username="supervisor")
        for case in created[::2]:  # half assigned (alerts e-mail the handler), half not (the supervisors)
            case_assign(actor=supervisor, case=case, assignee_id=handler.pk)
        self._walk_the_ladder(created[: max(1, cases // 3)], handler, rng)
        from stats.services import stats_rebuild

        stats_rebuild()  # analysts see figures at once, not after the first periodic refresh
        self.stdout.write(f"Loaded {org.name}: users {', '.join(u for u, _r in USERS)} "
                          f"(password {DEMO_PASSWORD}), {len(platforms)} platforms, {cases} cases.")

    def _walk_the_ladder(self, cases, handler, rng):
        """Some cases a few rungs up, some answered, one resolved: deadlines, alerts and statistics to look at."""
        from escalation.codes import Channel, EscalationOutcome
        from escalation.services import escalation_answer, escalation_submit

        for i, case in enumerate(cases):
            start = max(case.problem_found_at, timezone.now() - timedelta(days=6)) + timedelta(hours=1)
            merchant = escalation_submit(actor=handler, case=case, channel=Channel.MERCHANT, submitted_at=start)
            if i % 3 == 0:
                continue
            escalation_answer(actor=handler, escalation=merchant, response="商家拒绝退款",
                              responded_at=start + timedelta(hours=rng.randint(2, 40)),
                              outcome=EscalationOutcome.REFUSED)
            platform = escalation_submit(actor=handler, case=case, channel=Channel.PLATFORM,
                                         submitted_at=start + timedelta(days=2))
            if i % 3 == 1:
                escalation_answer(actor=handler, escalation=platform, response="平台已退款",
                                  responded_at=start + timedelta(days=3), outcome=EscalationOutcome.RESOLVED)
                case_transition(actor=handler, case=case, to=Status.RESOLVED, note="平台介入后全额退款",
                                outcome={"outcome": Outcome.FAVOURABLE, "amount_recovered": case.amount_paid,
                                         "consumer_rating": rng.randint(3, 5)})
