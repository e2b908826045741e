"""Who acts: a staff user, a partner app's API key, or the system. One type answers what every service
asks of the one who acts (organization, role, label) instead of probing attributes.

`request.user` is a staff user or, for an `Api-Key` request, a `PartnerPrincipal`; services accept either
(or an `Actor`, or None for the system) and read it through `Actor.of(...)`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias, Union

from .roles import PARTNER

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser


class PartnerPrincipal:
    """What `request.user` is for a request made with an API key: an organization and a role."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    role = PARTNER

    def __init__(self, api_key: Any):
        self.api_key = api_key
        self.organization = api_key.organization
        self.organization_id = api_key.organization_id
        self.pk = self.id = f"api-key-{api_key.pk}"
        self.username = f"api-key:{api_key.prefix}"

    def __str__(self) -> str:
        return self.username

    def get_username(self) -> str:
        return self.username

    def has_perm(self, *args: Any, **kwargs: Any) -> bool:
        return False


@dataclass(frozen=True)
class Actor:
    """A staff user, a partner key, or neither (the system: a task, a command, the beat)."""

    user: Any = None
    api_key: Any = None

    @classmethod
    def of(cls, who: Any) -> Actor:
        """The actor behind a request's user, a partner principal, a user, an Actor or None."""
        if isinstance(who, Actor):
            return who
        # A partner principal, or anything standing for a key the same way (the one place that asks).
        api_key = getattr(who, "api_key", None)
        if api_key is not None:
            return cls(api_key=api_key)
        if who is not None and getattr(who, "is_authenticated", False) and getattr(who, "pk", None):
            return cls(user=who)
        return cls()

    @property
    def is_partner(self) -> bool:
        return self.api_key is not None

    @property
    def is_system(self) -> bool:
        return self.user is None and self.api_key is None

    @property
    def organization_id(self) -> int | None:
        holder = self.api_key if self.api_key is not None else self.user
        return getattr(holder, "organization_id", None) if holder is not None else None

    @property
    def organization(self) -> Any:
        holder = self.api_key if self.api_key is not None else self.user
        return getattr(holder, "organization", None) if holder is not None else None

    @property
    def role(self) -> str | None:
        """`partner` for a key, the staff role of a user (None without one), None for the system."""
        if self.api_key is not None:
            return PARTNER
        return (getattr(self.user, "role", "") or None) if self.user is not None else None

    @property
    def name(self) -> str:
        """What a reader is shown: the username, `api-key:<prefix>`, or `system`."""
        if self.api_key is not None:
            return f"api-key:{self.api_key.prefix}"
        return self.user.get_username() if self.user is not None else "system"

    @property
    def label(self) -> str:
        """The label written into the evidence chain (part of the hashed entries: never change it)."""
        if self.api_key is not None:
            return f"api-key:{self.api_key.prefix}"
        return f"user:{self.user.get_username()}" if self.user is not None else "system"

    def fks(self, user_field: str = "actor_user", key_field: str = "actor_key") -> dict[str, Any]:
        """The foreign keys a row records its actor with: the user's or the key's column, never both."""
        if self.api_key is not None:
            return {key_field: self.api_key}
        return {user_field: self.user}


# What a service accepts as `actor`: a staff user, a partner principal (`request.user` of an API key) or an
# Actor; a service reads it through `Actor.of(...)`. None (where a signature allows it) is the system.
ActorLike: TypeAlias = Union[Actor, PartnerPrincipal, "AbstractBaseUser"]
# Who reads through a selector: an actor, or the anonymous user of a schema generation (who sees nothing).
Reader: TypeAlias = Union[Actor, PartnerPrincipal, "AbstractBaseUser", "AnonymousUser"]
