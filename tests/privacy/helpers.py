from cases.api.serializers import ID_CHECK, ID_WEIGHTS


def valid_id(first17: str) -> str:
    """A GB 11643 ID number: the 17 digits and their check character."""
    total = sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True))
    return first17 + ID_CHECK[total % 11]
