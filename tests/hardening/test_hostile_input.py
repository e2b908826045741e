"""Hostile input that once gave a 500: each is a 4xx in the error format of API.md, and nothing is written."""

import json
import uuid
from datetime import timedelta

import pytest
from django.test import Client, override_settings

from cases.models import Case
from evidence.models import Evidence
from tests.factories import CaseFactory
from tests.helpers import assert_error, png


@pytest.fixture
def case(org, platform):
    return CaseFactory(organization=org, platform=platform)


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [1000, 100_000])
def test_deeply_nested_json_is_400(supervisor, case, depth):
    for url in ("/api/v1/cases/", f"/api/v1/cases/{case.pk}/transition/", "/api/v1/platforms/"):
        body = '{"consumer": ' + nested(depth) + "}"
        assert_error(supervisor.post(url, data=body, content_type="application/json"), 400)
    assert Case.objects.count() == 1


def test_json_nested_a_little_deeper_than_any_input_needs_is_400(handler):
    body = json.dumps({"claims": [{"kind": {"a": {"b": {"c": {"d": nested(60)}}}}}]})
    assert_error(handler.post("/api/v1/cases/", data=body, content_type="application/json"), 400)


def test_json_body_over_the_form_limit_is_413(handler, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = json.dumps({"description": "长" * 20_000})
    assert_error(handler.post("/api/v1/cases/", data=body, content_type="application/json"), 413,
                 code="request_too_large")
    assert Case.objects.count() == 0


def test_json_body_over_the_default_limit_is_413(handler, settings):
    body = json.dumps({"description": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)})
    assert_error(handler.post("/api/v1/cases/", data=body, content_type="application/json"), 413)
    assert Case.objects.count() == 0


def test_form_fields_over_the_form_limit_are_413(handler, case, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    boundary = uuid.uuid4().hex
    body = f'--{boundary}\r\nContent-Disposition: form-data; name="description"\r\n\r\n{"x" * 20_000}\r\n--{boundary}--\r\n'
    response = handler.post(f"/api/v1/cases/{case.pk}/evidence/", data=body.encode(),
                            content_type=f"multipart/form-data; boundary={boundary}")
    assert_error(response, 413, code="request_too_large")


@pytest.mark.parametrize("url", ["/api/v1/cases/", "/api/v1/platforms/", "/api/v1/auth/token/"])
def test_form_bodies_where_only_json_makes_sense_are_415(supervisor, url):
    body = "&".join(f"f{i}=1" for i in range(1200))
    response = supervisor.post(url, data=body, content_type="application/x-www-form-urlencoded")
    assert_error(response, 415)


def test_more_than_a_thousand_multipart_fields_is_400(handler, case):
    boundary = uuid.uuid4().hex
    body = "".join(f'--{boundary}\r\nContent-Disposition: form-data; name="f{i}"\r\n\r\n1\r\n'
                   for i in range(1200)) + f"--{boundary}--\r\n"
    response = handler.post(f"/api/v1/cases/{case.pk}/evidence/", data=body.encode(),
                            content_type=f"multipart/form-data; boundary={boundary}")
    assert_error(response, 400, code="too_many_fields")


def _two_files(case, names=("file", "file")):
    boundary = uuid.uuid4().hex
    when = (case.problem_found_at + timedelta(minutes=5)).isoformat()
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in {"kind": "error_screenshot", "occurred_at": when}.items()]
    for i, name in enumerate(names):
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="a{i}.png"\r\n'
                     f"Content-Type: image/png\r\n\r\n".encode() + png() + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def test_evidence_upload_with_two_file_parts_is_400_and_stores_nothing(handler, case):
    body, content_type = _two_files(case)
    response = handler.post(f"/api/v1/cases/{case.pk}/evidence/", data=body, content_type=content_type)
    assert_error(response, 400, code="multiple_files")
    assert Evidence.objects.count() == 0


def test_evidence_upload_with_two_file_parts_by_a_partner_with_a_key_is_400(partner, org, partner_key):
    case = CaseFactory(organization=org, filed_by_key=partner_key[0])
    body, content_type = _two_files(case)
    response = partner.post(f"/api/v1/cases/{case.pk}/evidence/", data=body, content_type=content_type,
                            HTTP_IDEMPOTENCY_KEY="two-files")
    assert_error(response, 400, code="multiple_files")
    assert Evidence.objects.count() == 0


@pytest.mark.parametrize("offset", ["+16:00", "-16:00", "+99:59", "+15:60", "+2400"])
@pytest.mark.parametrize("url", [
    "/api/v1/cases/?created_after=2026-01-01T00:00:00{}",
    "/api/v1/cases/?created_before=2026-01-01T00:00:00{}",
    "/api/v1/deadlines/?due_before=2026-01-01T00:00:00{}",
])
def test_time_zone_offset_out_of_range_in_a_filter_is_400(handler, url, offset):
    from urllib.parse import quote

    response = handler.get(url.format(quote(offset)))
    assert_error(response, 400)


@pytest.mark.parametrize("offset", ["+15:59", "-15:59", "+08:00", "Z"])
def test_time_zone_offset_within_range_is_accepted(handler, offset):
    from urllib.parse import quote

    assert handler.get(f"/api/v1/cases/?created_after=2026-01-01T00:00:00{quote(offset)}").status_code == 200


@pytest.mark.parametrize("method", ["get", "post", "patch", "delete"])
def test_url_longer_than_the_limit_is_414_in_the_error_format(handler, settings, method):
    url = "/api/v1/cases/?search=" + "a" * settings.KAMENG_MAX_URL_LENGTH
    assert_error(getattr(handler, method)(url), 414, code="uri_too_long")


def test_url_just_under_the_limit_is_served(handler, settings):
    url = "/api/v1/cases/?x=" + "a" * (settings.KAMENG_MAX_URL_LENGTH - 100)
    assert handler.get(url).status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/nothing-here/", "/api/v2/cases/", "/api/", "/api/v1/cases/1/nope/"])
def test_unknown_api_url_is_a_json_404_even_under_debug(path):
    with override_settings(DEBUG=True):
        response = Client().get(path)
    assert_error(response, 404, code="not_found")


def test_unknown_api_url_is_a_json_404_without_debug():
    assert_error(Client().post("/api/v1/nothing-here/", data="{}", content_type="application/json"), 404)
