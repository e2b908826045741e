from django.db import connections
from drf_spectacular.utils import extend_schema, extend_schema_view
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from knox.models import AuthToken
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotAuthenticated
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response
from rest_framework.views import APIView

from kameng_api.core.actors import Actor
from kameng_api.core.idempotency import idempotent
from kameng_api.core.openapi import ID_REGEX, IDEMPOTENCY_KEY, error_response, if_match
from kameng_api.core.pagination import Pagination
from kameng_api.core.permissions import (
    CASE_CREATORS,
    CASE_READERS,
    CASE_WRITERS,
    EVERYONE,
    SUPERVISORS,
)
from kameng_api.core.preconditions import etag_for
from kameng_api.core.rendered import prepared, row_json
from kameng_api.core.security import LoginThrottle
from kameng_api.core.tokens import StaffTokenAuthentication, token_issue, token_revoke

from .. import selectors, services
from ..filters import CaseFilter, MerchantFilter
from . import examples
from .serializers import (
    AssignSerializer,
    CaseEventSerializer,
    CaseListSerializer,
    CaseSerializer,
    MerchantSerializer,
    MeSerializer,
    PlatformSerializer,
    TokenRequestSerializer,
    TokenSerializer,
    TransitionSerializer,
)

IF_MATCH = if_match("case")
IF_MATCH_REQUIRED = if_match("case", required=True)
DUPLICATE = error_response(409, "Duplicate (same organization, platform and order number) or stale If-Match.",
                           "duplicate_case",
                           "A case for this order number on this platform already exists: "
                           "KM-2026-000042 (id 42).")
ILLEGAL = error_response(409, "Illegal transition (the allowed ones are named) or stale If-Match.",
                         "illegal_transition",
                         "Cannot move a case from intake to legal. Allowed from intake: collecting_evidence, "
                         "negotiating, rejected, withdrawn.")

LOCKED = error_response(429, "Too many attempts from this address (`throttled`), or too many failed logins for "
                             "this account (`locked_out`, per account whatever the address).", "locked_out",
                        "Too many failed logins for this account. Try again in 15 minute(s).")


@extend_validation_errors(["authorization"], field_name="non_field_errors")
class TokenView(APIView):
    """Staff login: exchange a username and password for a token (`Authorization: Token <token>`);
    `DELETE` with the token logs it out."""

    authentication_classes = [StaffTokenAuthentication]
    permission_classes = []

    def get_throttles(self):
        return [LoginThrottle()] if self.request.method == "POST" else super().get_throttles()

    def initialize_request(self, request, *args, **kwargs):
        self.request = request  # get_authenticators() below is called from here and needs the method
        return super().initialize_request(request, *args, **kwargs)

    def get_authenticators(self):
        """The login takes no credentials (a stale token header must not stop it); logging out takes the
        token it revokes."""
        request = getattr(self, "request", None)
        if request is None or request.method == "POST":
            return []
        return super().get_authenticators()

    @extend_schema(tags=["auth"], request=TokenRequestSerializer, responses={200: TokenSerializer, 429: LOCKED},
                   summary="Log in: a new token for each login, expiring after KAMENG_TOKEN_TTL_HOURS")
    def post(self, request):
        serializer = TokenRequestSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        instance, token = token_issue(user=serializer.validated_data["user"])
        return Response(TokenSerializer({"token": token, "expiry": instance.expiry}).data)

    @extend_schema(tags=["auth"], request=None, responses={204: None}, summary="Log out: revoke this token")
    def delete(self, request):
        if not isinstance(request.auth, AuthToken):
            raise NotAuthenticated()
        token_revoke(token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    """Who the caller is, from the credentials alone (no other read): the cheapest authenticated request."""

    roles = {"get": EVERYONE}

    @extend_schema(tags=["auth"], summary="Who am I (user or partner key, organization, role)",
                   responses={200: MeSerializer})
    def get(self, request):
        user = request.user
        who = Actor.of(user)
        return Response(MeSerializer({
            "kind": "api_key" if who.is_partner else "user",
            "id": str(user.pk),
            "username": who.name,
            "organization": who.organization_id,
            "role": who.role or "",
            "token_expiry": request.auth.expiry if isinstance(request.auth, AuthToken) else None,
        }).data)


@extend_schema_view(
    list=extend_schema(summary="List cases (consumer masked)", responses={200: CaseListSerializer}),
    retrieve=extend_schema(summary="A case, with the consumer in full (the read is audit-logged)",
                           examples=[examples.CASE_RESPONSE]),
    create=extend_schema(summary="Register a complaint", parameters=[IDEMPOTENCY_KEY],
                         examples=[examples.CASE_CREATE, examples.CASE_RESPONSE],
                         responses={201: CaseSerializer, 409: DUPLICATE}),
    partial_update=extend_schema(summary="Correct a case", parameters=[IF_MATCH_REQUIRED],
                                 responses={200: CaseSerializer, 409: DUPLICATE}),
)
@extend_schema(tags=["cases"])
class CaseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = CaseSerializer
    filterset_class = CaseFilter
    selective_params = ("search",)  # few matches: the count comes from the page when it is not full
    lookup_value_regex = ID_REGEX
    http_method_names = ["get", "post", "patch", "head", "options"]
    roles = {
        "list": CASE_READERS, "retrieve": CASE_READERS, "create": CASE_CREATORS,
        "partial_update": CASE_WRITERS, "transition": CASE_WRITERS, "assign": SUPERVISORS,
        "history": CASE_READERS,
    }

    def get_queryset(self):
        # a list row and the detail show the platform and assignee as ids: neither is joined for them
        return selectors.case_list(user=self.request.user, listing=self.action in ("list", "retrieve"))

    def get_serializer_class(self):
        return CaseListSerializer if self.action == "list" else CaseSerializer

    def list(self, request, *args, **kwargs):
        """On PostgreSQL the page's statement renders each row as CaseListSerializer would
        (kameng_api/core/rendered.py): no model instances, no per-row Python. SQLite goes DRF's way."""
        queryset = self.filter_queryset(self.get_queryset())
        if connections[queryset.db].vendor != "postgresql" or request.accepted_renderer.format != "json":
            return super().list(request, *args, **kwargs)
        paginator = self.paginator
        assert isinstance(paginator, Pagination), "the project's pagination (settings)"
        rows = paginator.paginate_rendered(
            queryset, row_json(CaseListSerializer, extra=selectors.case_list_row_sql()), request, view=self)
        return paginator.get_rendered_response(rows)

    def retrieve(self, request, *args, **kwargs):
        # the list's filters have nothing to say about one case: its query is the visible cases by id
        # read by a prepared statement: planning it cost more than running it
        case = get_object_or_404(prepared(self.get_queryset()), pk=self.kwargs[self.lookup_field])
        self.check_object_permissions(request, case)
        response = Response(CaseSerializer(case).data)
        response["ETag"] = case.etag
        return response

    @idempotent
    def create(self, request, *args, **kwargs):
        serializer = CaseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # the new case as written (platform, merchant, consumer and claims in hand): not read back
        case = services.case_create(actor=request.user, data=serializer.validated_data)
        response = Response(CaseSerializer(case).data, status=status.HTTP_201_CREATED)
        response["ETag"] = case.etag
        response["Location"] = f"/api/v1/cases/{case.pk}/"
        return response

    def partial_update(self, request, *args, **kwargs):
        case = self.get_object()
        serializer = CaseSerializer(case, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        case = services.case_update(actor=request.user, case=case, data=dict(serializer.validated_data),
                                    if_match=request.headers.get("If-Match"))
        case = selectors.case_get(user=request.user, case_id=case.pk)
        response = Response(CaseSerializer(case).data)
        response["ETag"] = case.etag
        return response

    @extend_schema(summary="Move the case along its state machine", request=TransitionSerializer,
                   responses={200: CaseSerializer, 409: ILLEGAL}, parameters=[IF_MATCH],
                   examples=[examples.TRANSITION, examples.RESOLVE])
    @action(detail=True, methods=["post"])
    def transition(self, request, pk=None):
        case = self.get_object()
        serializer = TransitionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        case = services.case_transition(actor=request.user, case=case, to=data["to"], note=data["note"],
                                        outcome=data.get("outcome"), if_match=request.headers.get("If-Match"))
        case = selectors.case_get(user=request.user, case_id=case.pk)
        response = Response(CaseSerializer(case).data)
        response["ETag"] = case.etag
        return response

    @extend_schema(summary="Assign the case (supervisors)", request=AssignSerializer,
                   responses={200: CaseSerializer})
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        case = self.get_object()
        serializer = AssignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        case = services.case_assign(actor=request.user, case=case,
                                    assignee_id=serializer.validated_data["assignee"],
                                    note=serializer.validated_data["note"])
        return Response(CaseSerializer(selectors.case_get(user=request.user, case_id=case.pk)).data)

    @extend_schema(summary="The case's history: every event with actor and time",
                   responses={200: CaseEventSerializer(many=True)})
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def history(self, request, pk=None):
        case = self.get_object()
        events = case.events.select_related("actor_user", "actor_key").all()
        return Response(CaseEventSerializer(events, many=True).data)


@extend_schema(tags=["platforms"])
@extend_schema_view(
    create=extend_schema(summary="Add a platform (supervisors)", examples=[examples.PLATFORM]),
    partial_update=extend_schema(summary="Edit a platform (supervisors)"),
)
class PlatformViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The shared registry of platforms: every role reads it, supervisors edit it."""

    serializer_class = PlatformSerializer
    lookup_value_regex = ID_REGEX
    http_method_names = ["get", "post", "patch", "head", "options"]
    roles = {"list": EVERYONE, "retrieve": EVERYONE, "create": SUPERVISORS, "partial_update": SUPERVISORS}
    filterset_fields = ["cross_border", "has_deposit_scheme"]

    def get_queryset(self):
        return selectors.platform_list()

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        platform = services.platform_save(actor=request.user, data=serializer.validated_data)
        return Response(PlatformSerializer(platform).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        platform = self.get_object()
        serializer = self.get_serializer(platform, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        platform = services.platform_save(actor=request.user, platform=platform, data=serializer.validated_data,
                                          if_match=request.headers.get("If-Match"))
        return Response(PlatformSerializer(platform).data, headers={"ETag": etag_for(platform)})

    def retrieve(self, request, *args, **kwargs):
        platform = self.get_object()
        return Response(PlatformSerializer(platform).data, headers={"ETag": etag_for(platform)})


@extend_schema(tags=["platforms"])
class MerchantViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Merchants on the platforms: created from the cases that name them."""

    serializer_class = MerchantSerializer
    filterset_class = MerchantFilter
    lookup_value_regex = ID_REGEX
    roles = {"list": EVERYONE, "retrieve": EVERYONE}

    def get_queryset(self):
        return selectors.merchant_list()
