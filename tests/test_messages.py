"""Every message the API returns follows Accept-Language: zh-hans (the default) and en."""

import ast
import re
from pathlib import Path

import pytest
from django.utils import translation
from rest_framework.test import APIClient

from kameng_api.core.roles import Role

from .conftest import ROOT
from .helpers import payload

pytestmark = pytest.mark.django_db
CJK = re.compile(r"[\u3400-\u9fff]")
APPS = ("cases", "evidence", "escalation", "notifications", "stats", "privacy", "procedure", "kameng_api")
SAME_IN_CHINESE = {"SHA-256", "URL", "Webhook"}  # terms written the same way in Chinese text


def detail(response) -> str:
    return response.json()["errors"][0]["detail"]


@pytest.mark.parametrize(("lang", "expected"), [
    ("zh-hans", "您的角色不允许执行此操作。"), ("en", "Your role does not allow this action."), (None, "您的角色不允许执行此操作。"),
])
def test_role_refusal_follows_the_language(analyst, lang, expected):
    headers = {"HTTP_ACCEPT_LANGUAGE": lang} if lang else {}
    response = analyst.get("/api/v1/cases/", **headers)
    assert response.status_code == 403 and detail(response) == expected


@pytest.mark.parametrize(("lang", "expected"), [
    ("zh-hans", CJK), ("en", re.compile(r"^Not a Chinese mobile")),
])
def test_phone_check_follows_the_language(intake, platform, lang, expected):
    data = payload(platform, consumer={"name": "张三", "phone": "12345"})
    response = intake.post("/api/v1/cases/", data, format="json", HTTP_ACCEPT_LANGUAGE=lang)
    assert response.status_code == 400
    error = next(e for e in response.json()["errors"] if e["attr"] == "consumer.phone")
    assert expected.search(error["detail"]), error


@pytest.mark.parametrize(("lang", "zh"), [("zh-hans", True), ("en", False)])
def test_other_messages_follow_the_language(user_client, make_user, lang, zh):
    anon = APIClient()
    answers = [
        anon.post("/api/v1/auth/token/", {"username": "nobody", "password": "x"}, format="json",
                  HTTP_ACCEPT_LANGUAGE=lang),
        anon.get("/api/v1/no-such-thing/", HTTP_ACCEPT_LANGUAGE=lang),
        anon.get("/api/v1/cases/", HTTP_ACCEPT_LANGUAGE=lang, HTTP_AUTHORIZATION="Token nope"),
        anon.get("/api/v1/cases/", HTTP_ACCEPT_LANGUAGE=lang),
        user_client(Role.SUPERVISOR).post("/api/v1/platforms/", {"name": "x", "credit_code": "123"}, format="json",
                                          HTTP_ACCEPT_LANGUAGE=lang),
    ]
    for response in answers:
        assert response.status_code in (400, 401, 404), response.content
        for error in response.json()["errors"]:
            assert bool(CJK.search(error["detail"])) == zh, (response.request["PATH_INFO"], error)


def _sources():
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" not in path.parts:
                yield path


def _literal_messages(path: Path):
    """String literals passed to gettext and its aliases."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {"_", "gettext", "gettext_lazy", "_lazy", "pgettext", "pgettext_lazy"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in names:
            context = None
            if node.func.id.startswith("pgettext"):
                first = node.args[0] if node.args else None
                context = first.value if isinstance(first, ast.Constant) else None
            args = node.args[1:] if node.func.id.startswith("pgettext") else node.args
            if args and isinstance(args[0], ast.Constant) and isinstance(args[0].value, str):
                yield node.lineno, args[0].value, context


def test_every_message_in_the_code_has_a_chinese_translation():
    missing = []
    with translation.override("zh-hans"):
        for path in _sources():
            for line, message, context in _literal_messages(path):
                if CJK.search(message) or not re.search(r"[A-Za-z]{2}", message) or message in SAME_IN_CHINESE:
                    continue
                shown = translation.pgettext(context, message) if context else translation.gettext(message)
                if shown == message:
                    missing.append(f"{path.relative_to(ROOT)}:{line}: {message}")
    assert missing == [], "\n".join(missing)


ERRORS = re.compile(r"(ValidationError|ParseError|PermissionDenied|NotFound|APIException|AuthenticationFailed|"
                    r"NotAuthenticated|Throttled|Conflict|PreconditionFailed)$")


def test_no_error_raised_with_an_untranslated_literal():
    found = []
    for path in _sources():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                if ERRORS.search(name or ""):
                    values = list(node.args[:1])
                    if values and isinstance(values[0], ast.Dict):
                        values = list(values[0].values)
                    for value in values:
                        if isinstance(value, ast.JoinedStr) or (
                            isinstance(value, ast.Constant) and isinstance(value.value, str)
                            and re.search(r"[A-Za-z]{3}", value.value)
                        ):
                            found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
                    and node.targets[0].id in ("message", "default_detail") \
                    and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == []
