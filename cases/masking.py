"""Masking of personal data for lists (PRODUCT.md: "masked in lists")."""


def mask_name(name: str) -> str:
    if not name:
        return ""
    return name[0] + "*" * max(len(name) - 1, 1)


def mask_phone(phone: str) -> str:
    digits = phone or ""
    if len(digits) < 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_id_number(id_number: str) -> str:
    value = id_number or ""
    if len(value) < 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


MASKS = {"name": mask_name, "phone": mask_phone, "id_number": mask_id_number}
