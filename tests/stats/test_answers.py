"""Statistics answers kept in the shared cache (stats/answers.py): the same question gets the same bytes
until the figures change, and never an answer from before a refresh, a rename or for another scope."""


import pytest

from cases.models import Merchant
from stats import answers
from stats.services import stats_rebuild, stats_refresh
from tests.factories import PlatformFactory

from .conftest import at, make_case

pytestmark = pytest.mark.django_db

URL = "/api/v1/stats/platforms/"
PERIOD = {"from": "2025-03-01", "to": "2025-03-05"}




def _complaints(body, platform):
    return next(r["complaints"] for r in body["results"] if r["platform"]["id"] == platform.id)


def test_the_same_question_is_answered_from_the_cache_with_the_same_bytes(analyst, org, populate, shared_cache):
    platform = PlatformFactory(name="星辰卡盟")
    populate(platform, n=20)
    stats_rebuild()
    first = analyst.get(URL, PERIOD)
    second = analyst.get(URL, PERIOD)
    assert (first["X-Stats-Answer"], second["X-Stats-Answer"]) == ("computed", "kept")
    assert first.content == second.content and second["Content-Type"] == first["Content-Type"]
    assert _complaints(second.json(), platform) == 20
    # another question (page size, format, language) is another answer
    assert analyst.get(URL, {**PERIOD, "page_size": 5})["X-Stats-Answer"] == "computed"
    csv_ = analyst.get(URL, {**PERIOD, "format": "csv"})
    assert csv_["X-Stats-Answer"] == "computed" and csv_["Content-Type"].startswith("text/csv")
    again = analyst.get(URL, {**PERIOD, "format": "csv"})
    assert again["X-Stats-Answer"] == "kept" and again.content == csv_.content
    assert again["Content-Disposition"] == csv_["Content-Disposition"]
    assert analyst.get(URL, {**PERIOD, "format": "csv", "lang": "en"})["X-Stats-Answer"] == "computed"


def test_a_refresh_with_new_cases_is_seen_at_once(analyst, org, populate, shared_cache):
    platform = PlatformFactory(name="星辰卡盟")
    populate(platform, n=12)
    stats_rebuild()
    assert _complaints(analyst.get(URL, PERIOD).json(), platform) == 12
    assert analyst.get(URL, PERIOD)["X-Stats-Answer"] == "kept"
    make_case(organization=org, platform=platform, created_at=at(2025, 3, 2, 10, 0))
    assert _complaints(analyst.get(URL, PERIOD).json(), platform) == 12  # not refreshed yet: the same figures
    stats_refresh()
    after = analyst.get(URL, PERIOD)
    assert after["X-Stats-Answer"] == "computed" and _complaints(after.json(), platform) == 13


def test_a_renamed_platform_or_merchant_is_seen_at_once(analyst, org, populate, shared_cache):
    platform = PlatformFactory(name="星辰卡盟")
    populate(platform, n=12)
    stats_rebuild()
    analyst.get(URL, PERIOD)
    platform.name = "新星辰卡盟"
    platform.save()
    row = next(r for r in analyst.get(URL, PERIOD).json()["results"] if r["platform"]["id"] == platform.id)
    assert row["platform"]["name"] == "新星辰卡盟"
    merchant = Merchant.objects.get(name=row["top_merchants"][0]["name"])
    merchant.name = "改名的店"
    merchant.save()
    row = next(r for r in analyst.get(URL, PERIOD).json()["results"] if r["platform"]["id"] == platform.id)
    assert "改名的店" in [m["name"] for m in row["top_merchants"]]


def test_another_organization_never_gets_this_ones_answer(analyst, user_client, org, other_org, populate,
                                                         shared_cache, settings):
    settings.KAMENG_STATS_SCOPE = "organization"
    platform = PlatformFactory(name="星辰卡盟")
    populate(platform, n=12)
    populate(platform, n=3, organization=other_org, seed=7)
    stats_rebuild()
    assert _complaints(analyst.get(URL, PERIOD).json(), platform) == 12
    from rest_framework.test import APIClient

    from kameng_api.core.roles import Role
    from tests.factories import UserFactory

    theirs = APIClient()
    theirs.force_authenticate(UserFactory(role=Role.ANALYST, organization=other_org))
    response = theirs.get(URL, PERIOD)
    assert response["X-Stats-Answer"] == "computed" and _complaints(response.json(), platform) == 3


def test_bad_questions_and_the_embedded_cache_are_not_kept(analyst, org, populate, settings, shared_cache):
    assert analyst.get(URL, {"from": "2025-13-01"}).status_code == 400
    assert analyst.get(URL, {"from": "2025-13-01"}).status_code == 400
    settings.KAMENG_STATS_ANSWER_SECONDS = 0
    assert not answers.enabled()
    platform = PlatformFactory(name="星辰卡盟")
    populate(platform, n=12)
    stats_rebuild()
    assert "X-Stats-Answer" not in analyst.get(URL, PERIOD)
    settings.KAMENG_STATS_ANSWER_SECONDS = 300
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert not answers.enabled()  # a per-process cache would not see the worker's refresh


def test_a_trend_is_kept_and_renewed_like_the_platforms(analyst, org, populate, shared_cache):
    platform = PlatformFactory(name="星辰卡盟")
    populate(platform, n=12)
    stats_rebuild()
    url = f"/api/v1/stats/platforms/{platform.id}/trend/"
    first, second = analyst.get(url, PERIOD), analyst.get(url, PERIOD)
    assert (first["X-Stats-Answer"], second["X-Stats-Answer"]) == ("computed", "kept")
    assert sum(p["complaints"] for p in second.json()["results"]) == 12
    make_case(organization=org, platform=platform, created_at=at(2025, 3, 3, 9, 0))
    stats_refresh()
    assert sum(p["complaints"] for p in analyst.get(url, PERIOD).json()["results"]) == 13
    assert analyst.get("/api/v1/stats/platforms/999999/trend/", PERIOD).status_code == 404


def test_the_schema_documents_the_answer_header(anon):
    schema = anon.get("/api/schema/", {"format": "json"}).json()
    for path in ("/api/v1/stats/platforms/", "/api/v1/stats/platforms/{id}/trend/"):
        headers = schema["paths"][path]["get"]["responses"]["200"]["headers"]
        assert sorted(headers["X-Stats-Answer"]["schema"]["enum"]) == ["computed", "kept"], path
