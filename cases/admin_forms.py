"""The admin's intake form: a complaint registered at the desk goes through the same service as the API."""

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from kameng_api.core.exceptions import Conflict

from . import services
from .admin_workplace import LocalDateTimeField
from .api.serializers import PHONE_RE, valid_id_number
from .codes import ClaimKind, Deception, DisputeType, PaymentChannel, ProductType, Province
from .models import Case, Platform

BLANK: list[tuple[str, Any]] = [("", "---------")]
MERCHANT_SUGGESTIONS = 1000


class MerchantNameInput(forms.TextInput):
    """A text field with the known merchants as suggestions (the browser filters them as one types);
    a new name is fine: the service creates the merchant."""

    def render(self, name, value, attrs=None, renderer=None):
        from django.utils.html import format_html, format_html_join

        from .models import Merchant

        list_id = f"{(attrs or {}).get('id', name)}-suggestions"
        attrs = {**(attrs or {}), "list": list_id, "autocomplete": "off"}
        names = (Merchant.objects.order_by("name").values_list("name", "platform__name")
                 .distinct()[:MERCHANT_SUGGESTIONS])
        options = format_html_join("", '<option value="{}" label="{}"></option>', names)
        return format_html("{}<datalist id=\"{}\">{}</datalist>", super().render(name, value, attrs, renderer),
                           list_id, options)
MONEY: dict[str, Any] = {"max_digits": 12, "decimal_places": 2, "min_value": Decimal("0.01")}


class CaseIntakeForm(forms.ModelForm):
    platform = forms.ModelChoiceField(Platform.objects.all(), label=_("platform"),
                                      widget=AutocompleteSelect(Case._meta.get_field("platform"), admin.site))
    merchant_name = forms.CharField(label=_("merchant"), max_length=200, required=False,
                                    widget=MerchantNameInput,
                                    help_text=_("Type to search the known merchants, or a new name."))
    order_number = forms.CharField(label=_("order number"), max_length=64)
    product_type = forms.ChoiceField(label=_("product type"), choices=BLANK + ProductType.choices)
    face_value = forms.DecimalField(label=_("face value (CNY)"), required=False, **MONEY)
    amount_paid = forms.DecimalField(label=_("amount paid (CNY)"), **MONEY)
    payment_channel = forms.ChoiceField(label=_("payment channel"), choices=BLANK + PaymentChannel.choices)
    purchased_at = LocalDateTimeField(label=_("purchased at"))
    delivered_at = LocalDateTimeField(label=_("delivered at"), required=False)
    problem_found_at = LocalDateTimeField(label=_("problem found at"))
    dispute_type = forms.ChoiceField(label=_("dispute type"), choices=BLANK + DisputeType.choices)
    description = forms.CharField(label=_("description"), widget=forms.Textarea, required=False, max_length=5000)
    merchant_promise = forms.CharField(label=_("what the merchant promised"), widget=forms.Textarea,
                                       required=False, max_length=2000)
    fraud_suspected = forms.BooleanField(label=_("signs of fraud"), required=False)
    deception = forms.ChoiceField(label=_("deception (欺诈)"), choices=[("", "---------"), *Deception.choices],
                                  required=False)
    key_redeemed_on_receipt = forms.NullBooleanField(label=_("card key already redeemed (核销) when received"),
                                                     required=False)
    consumer_is_minor = forms.BooleanField(label=_("bought by a minor"), required=False)
    for_resale = forms.BooleanField(label=_("bought for resale / as an agent"), required=False)
    consumer_province = forms.ChoiceField(label=_("consumer's province"),
                                          choices=[("", "---------"), *Province.choices], required=False)
    payment_reference = forms.CharField(label=_("payment transaction number (交易流水号)"), max_length=64,
                                        required=False)
    payee_account = forms.CharField(label=_("payee account (收款账户)"), max_length=100, required=False)
    consumer_name = forms.CharField(label=_("consumer's name"), max_length=100)
    consumer_phone = forms.CharField(label=_("consumer's phone"), max_length=20, required=False)
    consumer_id_number = forms.CharField(label=_("consumer's ID number"), max_length=18, required=False)
    claim_refund = forms.DecimalField(label=_("claim: refund (CNY)"), required=False, **MONEY)
    claim_compensation = forms.DecimalField(label=_("claim: compensation (CNY)"), required=False, **MONEY)
    claim_redelivery = forms.BooleanField(label=_("claim: re-delivery"), required=False)
    claim_punitive = forms.BooleanField(label=_("claim: punitive damages (退一赔三, fraud only)"), required=False)

    class Meta:
        model = Case
        fields: list = []

    def __init__(self, *args, actor=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.actor = actor
        self.created = None

    def clean_consumer_phone(self):
        value = self.cleaned_data["consumer_phone"].replace(" ", "")
        if value and not PHONE_RE.match(value):
            raise ValidationError(_("Not a Chinese mobile or landline number."))
        return value

    def clean_consumer_id_number(self):
        value = self.cleaned_data["consumer_id_number"].strip().upper()
        if value and not valid_id_number(value):
            raise ValidationError(_("Not a valid 18-character resident ID number."))
        return value

    def clean(self):
        """Register the case here, inside the admin's transaction, so the service's rule errors are shown
        on the form like any other error (and nothing is written when there is one)."""
        data = super().clean()
        if self.errors or data is None:
            return data
        claims = []
        if data.get("claim_refund"):
            claims.append({"kind": ClaimKind.REFUND, "amount": data["claim_refund"]})
        if data.get("claim_compensation"):
            claims.append({"kind": ClaimKind.COMPENSATION, "amount": data["claim_compensation"]})
        if data.get("claim_redelivery"):
            claims.append({"kind": ClaimKind.REDELIVERY, "amount": None})
        if data.get("claim_punitive"):
            claims.append({"kind": ClaimKind.PUNITIVE, "amount": None})
        payload = {k: data[k] for k in (
            "platform", "merchant_name", "order_number", "product_type", "face_value", "amount_paid",
            "payment_channel", "purchased_at", "delivered_at", "problem_found_at", "dispute_type", "description",
            "merchant_promise", "fraud_suspected", "deception", "key_redeemed_on_receipt", "consumer_is_minor",
            "for_resale", "consumer_province", "payment_reference", "payee_account")}
        payload["consumer"] = {"name": data["consumer_name"], "phone": data["consumer_phone"],
                               "id_number": data["consumer_id_number"]}
        payload["claims"] = claims
        try:
            self.created = services.case_create(actor=self.actor, data=payload)
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
            for field, messages in errors.items():
                target = field if field in self.fields else None
                for message in messages:
                    self.add_error(target, message)
        except Conflict as exc:  # a duplicate case
            self.add_error("order_number", str(exc))
        return data

    def _post_clean(self):
        """The model instance is built by the service in clean(), not from this form's fields."""

    def save(self, commit=True):
        return self.created

    def save_m2m(self):
        return None
