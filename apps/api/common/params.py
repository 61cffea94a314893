"""Query-parameter parsing shared by the dialects. Errors name the parameter (Invalid.field)."""

import re

from django.http import QueryDict

from apps.core.exceptions import Invalid

MAX_LIST_ITEMS = 10_000
_INTEGER = re.compile(r"-?\d{1,18}")


def int_list(params: QueryDict, name: str) -> list[int] | None:
    """A list of integers given as `?x=1,2,3`, `?x=1&x=2&x=3` or both; None when absent."""
    raw = params.getlist(name)
    if not raw:
        return None
    items = [part.strip() for value in raw for part in value.split(",")]
    if not all(_INTEGER.fullmatch(item) for item in items):
        raise Invalid(f"'{name}' must be a comma-separated list of integers.", field=name)
    if len(items) > MAX_LIST_ITEMS:
        raise Invalid(f"'{name}' may hold at most {MAX_LIST_ITEMS} items.", field=name)
    return [int(item) for item in items]


def int_param(
    params: QueryDict,
    name: str,
    *,
    default: int | None,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int | None:
    """One integer parameter within [minimum, maximum]; `default` when absent."""
    raw = params.get(name)
    if raw is None:
        return default
    if not _INTEGER.fullmatch(raw.strip()):
        raise Invalid(f"'{name}' must be an integer.", field=name)
    value = int(raw)
    if minimum is not None and value < minimum:
        raise Invalid(f"'{name}' must be at least {minimum}.", field=name)
    if maximum is not None and value > maximum:
        raise Invalid(f"'{name}' must be at most {maximum}.", field=name)
    return value


def choice_param(params: QueryDict, name: str, choices: list[str]) -> str | None:
    raw = params.get(name)
    if raw is None:
        return None
    if raw not in choices:
        raise Invalid(f"'{name}' must be one of {', '.join(choices)}.", field=name)
    return raw
