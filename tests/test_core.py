"""Core's own vocabulary: the one who acts, and domain errors that only the error handler turns into HTTP."""

import pytest

from cases.services import api_key_create
from kameng_api.core.actors import Actor, PartnerPrincipal
from kameng_api.core.errors import as_api_exception, http_status
from kameng_api.core.exceptions import (
    Conflict,
    DomainError,
    PayloadTooLarge,
    PreconditionFailed,
    StorageUnavailable,
    UnsupportedFileType,
)
from kameng_api.core.roles import PARTNER, Role
from tests.factories import UserFactory


@pytest.mark.django_db
def test_an_actor_is_a_user_a_partner_key_or_the_system():
    user = UserFactory(username="clerk", role=Role.INTAKE)
    key, _raw = api_key_create(organization=user.organization, name="app")
    staff, partner, system = Actor.of(user), Actor.of(PartnerPrincipal(key)), Actor.of(None)
    assert (staff.role, staff.organization_id, staff.name, staff.label) == (
        Role.INTAKE, user.organization_id, "clerk", "user:clerk")
    assert staff.fks() == {"actor_user": user}
    assert (partner.role, partner.organization_id, partner.label) == (
        PARTNER, key.organization_id, f"api-key:{key.prefix}")
    assert partner.fks("by_user", "by_key") == {"by_key": key}
    assert (system.role, system.organization_id, system.label, system.is_system) == (None, None, "system", True)
    assert Actor.of(staff) is staff


def test_domain_errors_know_no_status_until_the_handler_maps_them():
    errors = [Conflict("x"), PreconditionFailed(), PayloadTooLarge(), UnsupportedFileType(), StorageUnavailable()]
    assert not any(hasattr(error, "status_code") for error in errors)
    assert [http_status(error) for error in errors] == [409, 409, 413, 415, 503]
    assert http_status(DomainError()) == 400
    converted = as_api_exception(Conflict("已存在", code="duplicate_case"))
    assert (converted.status_code, str(converted.detail), converted.detail.code) == (409, "已存在", "duplicate_case")
