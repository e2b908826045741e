"""Evidence and the escalation clock: proof of the problem meets the 24 h preservation deadline (seed 004)."""

import pytest

from escalation.codes import DeadlineKind, DeadlineStatus
from escalation.models import Deadline
from escalation.services import deadlines_for_new_case

pytestmark = pytest.mark.django_db


def preservation(case):
    return Deadline.objects.get(case=case, kind=DeadlineKind.EVIDENCE_PRESERVATION)


def test_problem_evidence_meets_the_preservation_deadline(handler, case, upload):
    deadlines_for_new_case(case=case)
    assert preservation(case).status == DeadlineStatus.OPEN
    assert upload(handler, case, kind="order_screenshot", occurred_at=case.purchased_at).status_code == 201
    assert preservation(case).status == DeadlineStatus.OPEN  # an order screenshot is not proof of the problem
    assert upload(handler, case, kind="error_screenshot").status_code == 201
    deadline = preservation(case)
    assert deadline.status == DeadlineStatus.MET and deadline.met_at is not None
