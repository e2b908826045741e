from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from cases.codes import ClaimKind, DisputeType, PaymentChannel, ProductType
from cases.models import Case, Claim, Consumer, Organization, Platform, User
from kameng_api.core.roles import Role

PASSWORD = "correct-horse-battery"


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    slug = factory.Sequence(lambda n: f"org-{n}")
    name = factory.Sequence(lambda n: f"消费者协会 {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    organization = factory.SubFactory(OrganizationFactory)
    role = Role.HANDLER
    is_staff = True
    @factory.post_generation
    def password(self, create, extracted, **kwargs):
        self.set_password(extracted or PASSWORD)
        if create:
            self.save(update_fields=["password"])


class PlatformFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Platform

    name = factory.Sequence(lambda n: f"卡盟平台{n}")
    domains = factory.Sequence(lambda n: [f"kameng{n}.example.cn"])
    company_name = "某某网络科技有限公司"
    icp_number = factory.Sequence(lambda n: f"浙ICP备{n:08d}号")
    complaint_window_hours = 72
    response_working_days = 3


class ConsumerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Consumer

    organization = factory.SubFactory(OrganizationFactory)
    name = "张三"
    phone = "13812345678"
    id_number = "11010519491231002X"


class CaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Case
        skip_postgeneration_save = True

    organization = factory.SubFactory(OrganizationFactory)
    reference = factory.Sequence(lambda n: f"KM-2026-{n + 900000:06d}")
    platform = factory.SubFactory(PlatformFactory)
    order_number = factory.Sequence(lambda n: f"ORD{n:08d}")
    product_type = ProductType.GAME_CARD
    amount_paid = Decimal("100.00")
    payment_channel = PaymentChannel.ALIPAY
    purchased_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=3))
    delivered_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=3) + timedelta(minutes=5))
    problem_found_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=2))
    dispute_type = DisputeType.INVALID_CODE
    consumer = factory.LazyAttribute(lambda o: ConsumerFactory(organization=o.organization))

    @factory.post_generation
    def claims(self, create, extracted, **kwargs):
        if create:
            for claim in extracted or [{"kind": ClaimKind.REFUND, "amount": self.amount_paid}]:
                Claim.objects.create(case=self, **claim)
