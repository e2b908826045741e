import random
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from cases.codes import DisputeType, ProductType, Status
from cases.models import Case, Merchant
from escalation.models import Escalation
from tests.factories import CaseFactory

TZ = timezone.get_default_timezone()


def at(y, m, d, hh=12, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=TZ)


def make_case(*, organization, platform, created_at, status=Status.INTAKE, outcome="", closed_after=None,
              merchant=None, product_type=ProductType.GAME_CARD, dispute_type=DisputeType.INVALID_CODE,
              amount_paid=Decimal("100.00"), amount_recovered=None, rating=None):
    case = CaseFactory(organization=organization, platform=platform, product_type=product_type,
                       dispute_type=dispute_type, amount_paid=amount_paid)
    Case.objects.filter(pk=case.pk).update(
        created_at=created_at, updated_at=timezone.now(), status=status, outcome=outcome, merchant=merchant,
        closed_at=created_at + closed_after if closed_after is not None else None,
        amount_recovered=amount_recovered, consumer_rating=rating,
    )
    case.refresh_from_db()
    return case


def platform_escalation(case, *, submitted_after=timedelta(hours=1), answer_after=None, due_after=timedelta(days=3)):
    submitted = case.created_at + submitted_after
    return Escalation.objects.create(
        case=case, channel="platform", level=2, submitted_at=submitted, due_at=submitted + due_after,
        responded_at=submitted + answer_after if answer_after is not None else None,
    )


@pytest.fixture
def populate(org):
    """populate(platform, n, start, days, seed) -> cases with varied statuses, outcomes and durations."""

    def fill(platform, n=40, start=None, days=5, seed=1, organization=None):
        rng = random.Random(seed)
        organization = organization or org
        start = start or at(2025, 3, 1, 0, 0)
        merchants = [Merchant.objects.get_or_create(platform=platform, name=f"{platform.name}的店{i}")[0]
                     for i in range(3)]
        cases = []
        for _ in range(n):
            created = start + timedelta(days=rng.randrange(days), minutes=rng.randrange(24 * 60),
                                        seconds=rng.randrange(60))
            status = rng.choice([Status.INTAKE, Status.NEGOTIATING, Status.RESOLVED, Status.RESOLVED,
                                 Status.REJECTED, Status.WITHDRAWN])
            closed = status in (Status.RESOLVED, Status.REJECTED, Status.WITHDRAWN)
            outcome = rng.choice(["favourable", "partial", "unfavourable"]) if status == Status.RESOLVED else ""
            case = make_case(
                organization=organization, platform=platform, created_at=created, status=status, outcome=outcome,
                closed_after=timedelta(minutes=rng.randrange(60, 60 * 24 * 20), seconds=rng.randrange(60))
                if closed else None,
                merchant=rng.choice(merchants + [None]),
                product_type=rng.choice([ProductType.GAME_CARD, ProductType.PHONE_RECHARGE]),
                dispute_type=rng.choice([DisputeType.INVALID_CODE, DisputeType.DELIVERY_DELAY]),
                amount_paid=Decimal(rng.randrange(1000, 50000)) / 100,
                amount_recovered=Decimal(rng.randrange(0, 1000)) / 100 if outcome else None,
                rating=rng.randrange(1, 6) if outcome else None,
            )
            if rng.random() < 0.6:
                answer = rng.choice([None, timedelta(minutes=rng.randrange(5, 60 * 24 * 6), seconds=7)])
                platform_escalation(case, answer_after=answer)
            if rng.random() < 0.2:
                Escalation.objects.create(case=case, channel="12315", level=3,
                                          submitted_at=case.created_at + timedelta(days=2))
            cases.append(case)
        return cases

    return fill
