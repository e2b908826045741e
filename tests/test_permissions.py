"""Every case endpoint against every role: anonymous 401, wrong role 403, other organization 404,
own organization 2xx — and a query-count ceiling on the lists (STYLE.md, Permissions)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from cases.services import api_key_create
from kameng_api.core.roles import Role
from tests.factories import CaseFactory, OrganizationFactory, PlatformFactory, UserFactory
from tests.helpers import declared_roles

pytestmark = pytest.mark.django_db

ROLES = ["intake", "handler", "supervisor", "analyst", "partner"]


def client_as(role, organization):
    client = APIClient()
    if role == "partner":
        _key, raw = api_key_create(organization=organization, name="app")
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    else:
        client.force_authenticate(UserFactory(role=role, organization=organization))
    return client


def own_case(organization, role):
    """A case the role could see if allowed: partners only see partner-filed cases."""
    case = CaseFactory(organization=organization, status="third_party")
    if role == "partner":
        key, _raw = api_key_create(organization=organization, name="filer")
        case.filed_by_key = key
        case.save()
    return case


# (name, method, path template, body, success status). Who may call each is not written here: it is what the
# view declares (its `roles`, rows of kameng_api/core/access.py), read through the URL resolver.
ENDPOINTS = [
    ("case list", "get", "/api/v1/cases/", None, 200),
    ("case detail", "get", "/api/v1/cases/{id}/", None, 200),
    ("case history", "get", "/api/v1/cases/{id}/history/", None, 200),
    ("case update", "patch", "/api/v1/cases/{id}/", {"description": "更正"}, 200),
    ("case transition", "post", "/api/v1/cases/{id}/transition/", {"to": "withdrawn"}, 200),
    ("case assign", "post", "/api/v1/cases/{id}/assign/", {"assignee": None}, 200),
    ("platform list", "get", "/api/v1/platforms/", None, 200),
    ("platform create", "post", "/api/v1/platforms/", {"name": "新平台"}, 201),
    ("platform update", "patch", "/api/v1/platforms/{platform}/", {"cross_border": True}, 200),
    ("merchant list", "get", "/api/v1/merchants/", None, 200),
]


def test_the_declared_roles_are_what_the_product_promises():
    """The few rules a reader knows by heart, so a wrong row in the access table cannot pass unseen."""
    assert declared_roles("get", "/api/v1/cases/1/") == {"intake", "handler", "supervisor", "partner"}
    assert declared_roles("post", "/api/v1/cases/1/assign/") == {"supervisor"}
    assert declared_roles("get", "/api/v1/platforms/") == set(ROLES)


def call(client, method, path, body):
    headers = {"HTTP_IF_MATCH": "*"} if method == "patch" else {}  # a PATCH without If-Match is a 428
    if body is None:
        return getattr(client, method)(path, **headers)
    return getattr(client, method)(path, body, format="json", **headers)


@pytest.mark.parametrize(("name", "method", "path", "body", "ok"), ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
@pytest.mark.parametrize("role", ROLES)
def test_role_matrix(role, name, method, path, body, ok):
    org = OrganizationFactory()
    case = own_case(org, role)
    url = path.format(id=case.pk, platform=case.platform_id)
    response = call(client_as(role, org), method, url, body)
    expected = ok if role in declared_roles(method, url) else 403
    assert response.status_code == expected, (role, name, response.content)
    if expected == 403:
        assert response.json()["type"] == "client_error"


@pytest.mark.parametrize(("name", "method", "path", "body", "ok"), ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_anonymous_is_401(name, method, path, body, ok):
    case = CaseFactory()
    response = call(APIClient(), method, path.format(id=case.pk, platform=case.platform_id), body)
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "not_authenticated"


CROSS_ORG = [(role, e[0], e[1], e[2], e[3]) for e in ENDPOINTS if "{id}" in e[2]
             for role in sorted(declared_roles(e[1], e[2].format(id=1)))]


@pytest.mark.parametrize(("role", "name", "method", "path", "body"), CROSS_ORG,
                         ids=[f"{c[0]}-{c[1]}" for c in CROSS_ORG])
def test_another_organizations_case_is_404(role, name, method, path, body):
    theirs = own_case(OrganizationFactory(), role)
    response = call(client_as(role, OrganizationFactory()), method, path.format(id=theirs.pk), body)
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "not_found"
    theirs.refresh_from_db()
    assert theirs.status == "third_party" and theirs.description == ""


def test_filters_never_reach_another_organization():
    org, other = OrganizationFactory(), OrganizationFactory()
    theirs = CaseFactory(organization=other, order_number="SECRET-1")
    client = client_as("supervisor", org)
    for params in ({"search": "SECRET"}, {"platform": theirs.platform_id}, {"status": "intake"},
                   {"search": theirs.reference}):
        assert client.get("/api/v1/cases/", params).json()["count"] == 0


def test_superuser_without_organization_sees_no_cases():
    CaseFactory()
    client = APIClient()
    client.force_authenticate(UserFactory(organization=None, role="", is_superuser=True))
    assert client.get("/api/v1/cases/").status_code == 403


def test_case_list_query_count_does_not_grow_with_rows():
    org = OrganizationFactory()
    client = client_as("handler", org)
    platform = PlatformFactory()
    CaseFactory.create_batch(3, organization=org, platform=platform)
    with CaptureQueriesContext(connection) as few:
        assert client.get("/api/v1/cases/").status_code == 200
    CaseFactory.create_batch(30, organization=org)
    with CaptureQueriesContext(connection) as many:
        assert client.get("/api/v1/cases/?page_size=50").json()["count"] == 33
    assert len(many) == len(few) <= 6


def test_token_login_and_token_use():
    user = UserFactory(username="clerk", role=Role.INTAKE)
    client = APIClient()
    bad = client.post("/api/v1/auth/token/", {"username": "clerk", "password": "wrong"}, format="json")
    assert bad.status_code == 400 and bad.json()["type"] == "validation_error"
    token = client.post("/api/v1/auth/token/", {"username": "clerk", "password": "correct-horse-battery"},
                        format="json").json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/cases/").status_code == 200
    stored = user.auth_token_set.get()  # only a digest is stored, never the token itself
    assert stored.digest != token and token not in stored.digest and stored.expiry is not None


def test_garbage_credentials_are_401():
    for header in ("Api-Key nope", "Api-Key km_deadbeef.xyz", "Token nope", "Api-Key a b"):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=header)
        assert client.get("/api/v1/cases/").status_code == 401, header


def test_unknown_api_path_is_a_json_404():
    response = APIClient().get("/api/v1/nothing-here/")
    assert response.status_code == 404
    assert response.json()["type"] == "client_error"
