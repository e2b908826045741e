"""Serializer output without the per-row overhead of DRF's generic loop.

DRF decides, for every field of every row, how to read the attribute and how to render it: which
time zone a datetime is shown in, whether a relation is a bare primary key, and so on. For a list those
answers are the same on every row. `CompiledRepresentation` works them out once per serializer instance
(a list serializer reuses one child for all its rows) and then renders each row with a plain loop. The
output is identical to DRF's (the tests compare them); any field it does not know is rendered by DRF.
"""

import copy
import decimal
import inspect
import types
from typing import Any

from django.utils import timezone
from rest_framework import ISO_8601, relations, serializers
from rest_framework import fields as drf_fields
from rest_framework.settings import api_settings

_PLAIN = object()


def _datetime_renderer(field):
    output_format = getattr(field, "format", api_settings.DATETIME_FORMAT)
    if output_format is None or output_format.lower() != ISO_8601:
        return None
    tz = field.timezone if hasattr(field, "timezone") else field.default_timezone()
    if tz is None:
        return None

    def render(value):
        if isinstance(value, str):
            return value
        if timezone.is_naive(value):
            return field.to_representation(value)
        text = value.astimezone(tz).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return render


def _decimal_renderer(field):
    """A stored decimal already has the field's places (numeric(12, 2)): DRF's quantize would return it
    unchanged, so it is formatted directly; any other value goes through DRF."""
    coerce = getattr(field, "coerce_to_string", api_settings.COERCE_DECIMAL_TO_STRING)
    if not coerce or field.localize or field.decimal_places is None or getattr(field, "normalize_output", False):
        return field.to_representation
    exponent = -field.decimal_places
    max_digits = field.max_digits

    def render(value):
        if type(value) is decimal.Decimal and value.is_finite():
            sign, digits, exp = value.as_tuple()
            if exp == exponent and (max_digits is None or len(digits) <= max_digits):
                return f"{value:f}"
        return field.to_representation(value)

    return render


def _identity_for(types):
    def make(field):
        return lambda value, _types=types, _field=field: (
            value if type(value) in _types else _field.to_representation(value))
    return make


_STR = _identity_for((str,))
_BOOL = _identity_for((bool,))
_INT = _identity_for((int,))


def _is_method(model, name) -> bool:
    """DRF calls a source that is a method; such fields are left to DRF."""
    attr = inspect.getattr_static(model, name, None)
    return isinstance(attr, types.FunctionType | staticmethod | classmethod)


def _plan_for(field, model):
    """(getter, renderer) for a field; getter None means "let DRF do it"."""
    if isinstance(field, drf_fields.SerializerMethodField):
        method = getattr(field.parent, field.method_name)
        return "method", method
    if model is None:  # rows that are not model instances (dicts...): DRF reads them
        return None, None
    if isinstance(field, relations.PrimaryKeyRelatedField) and not isinstance(field, relations.ManyRelatedField):
        if field.pk_field is None and len(field.source_attrs) == 1 and field.use_pk_only_optimization():
            try:
                attname = model._meta.get_field(field.source_attrs[0]).attname
            except Exception:  # noqa: BLE001 - not a model relation: DRF renders it
                return None, None
            return "pk", attname
        return None, None
    if type(field).get_attribute is not drf_fields.Field.get_attribute or len(field.source_attrs) != 1:
        return None, None
    source = field.source_attrs[0]
    if _is_method(model, source):
        return None, None
    if isinstance(field, drf_fields.DateTimeField):
        renderer = _datetime_renderer(field)
    elif isinstance(field, drf_fields.ChoiceField | drf_fields.CharField) and not isinstance(
            field, drf_fields.MultipleChoiceField):
        renderer = _STR(field)
    elif isinstance(field, drf_fields.DecimalField):
        renderer = _decimal_renderer(field)
    elif isinstance(field, drf_fields.BooleanField):
        renderer = _BOOL(field)
    elif isinstance(field, drf_fields.IntegerField):
        renderer = _INT(field)
    else:
        renderer = field.to_representation
    if renderer is None:
        return None, None
    return source, renderer


def _fresh(field):
    """A new, unbound instance of a template field. DRF's deepcopy also deep-copies its arguments (choice
    labels, querysets...), which the field only reads; those are shared. A field holding another field or
    serializer (a child, a nested serializer) is deep-copied as DRF does."""
    if (isinstance(field, serializers.BaseSerializer) or not hasattr(field, "_kwargs")
            or any(isinstance(v, drf_fields.Field) for v in (*field._args, *field._kwargs.values()))):
        return copy.deepcopy(field)
    kwargs = {k: copy.deepcopy(v) if k in ("default", "initial") else v for k, v in field._kwargs.items()}
    return field.__class__(*field._args, **kwargs)


def _shareable(field) -> bool:
    """A field a plan may keep across serializer instances: it renders from the row alone. Nested serializers
    qualify when they are compiled too (they read nothing but the row); anything that may read the request
    (hyperlinks, other serializers) is looked up on each instance."""
    if isinstance(field, relations.HyperlinkedRelatedField | relations.HyperlinkedIdentityField):
        return False
    if isinstance(field, serializers.ListSerializer):
        return isinstance(field.child, CompiledRepresentation)
    if isinstance(field, serializers.BaseSerializer):
        return isinstance(field, CompiledRepresentation)
    return True


class CompiledRepresentation:
    """Mix into a Serializer (before the DRF base) to render rows with a plan made once per class (and time
    zone): a request's serializer then builds no fields at all when every field is in the plan."""
    # Provided by the DRF serializer this is mixed into (annotations only: nothing is shadowed).
    _fields_template: dict[str, Any]
    _readable_fields: Any
    fields: Any
    # Set on each class by _plan: the compiled plans by time zone name.
    _compiled_plans: dict[str, Any]

    def get_fields(self):
        """DRF builds a model serializer's fields by introspecting the model for every serializer
        instance (every request); the fields depend only on the class, so they are built once per class
        and each instance gets its own copy."""
        cls = type(self)
        template = cls.__dict__.get("_fields_template")
        if template is None:
            template = super().get_fields()  # type: ignore[misc]  # the DRF serializer after this mixin
            cls._fields_template = template
        return {name: _fresh(field) for name, field in template.items()}

    def _compile(self):
        """[(name, field, kind, detail)]: kind "method" (detail: the method's name, called on the instance
        rendering), "pk" or a source attribute (detail: the renderer), None for DRF's own way — with the
        field of the compiling instance when it is shareable, else "own" (the rendering instance's field)."""
        plan = []
        model = getattr(getattr(self, "Meta", None), "model", None)
        for field in self._readable_fields:
            kind, detail = _plan_for(field, model)
            if kind == "method":
                detail = field.method_name
            elif kind is None and not _shareable(field):
                kind = "own"
            plan.append((field.field_name, field, kind, detail))
        return plan

    def _plan(self):
        cls = type(self)
        plans = cls.__dict__.get("_compiled_plans")
        if plans is None:
            plans = {}
            cls._compiled_plans = plans
        key = timezone.get_current_timezone_name()
        plan = plans.get(key)
        if plan is None:
            plan = plans[key] = self._compile()
        return plan

    def to_representation(self, instance):
        plan = self.__dict__.get("_instance_plan")
        if plan is None:
            plan = self._instance_plan = self._plan()
        ret = {}
        for name, field, kind, detail in plan:
            if kind == "method":
                ret[name] = getattr(self, detail)(instance)
                continue
            if kind == "own":
                field = self.fields[name]
            elif kind is not None:
                try:
                    value = getattr(instance, detail if kind == "pk" else kind)
                except AttributeError:  # a missing attribute: DRF's rules (default, skip...) apply
                    pass
                else:
                    ret[name] = value if kind == "pk" or value is None else detail(value)
                    continue
            try:
                attribute = field.get_attribute(instance)
            except drf_fields.SkipField:
                continue
            check = attribute.pk if isinstance(attribute, relations.PKOnlyObject) else attribute
            ret[name] = None if check is None else field.to_representation(attribute)
        return ret
