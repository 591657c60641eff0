"""Page arithmetic shared by every paginated list."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select

from webapp.extensions import db
from webapp.services.errors import Invalid

T = TypeVar("T")
MAX_PAGE_SIZE = 200
#: The last page any list answers; far past it the row offset would overflow the database's integers.
MAX_PAGE = 10**9
#: The largest id a SQL BIGINT primary key holds; anything bigger cannot name an object.
MAX_ID = 2**63 - 1
DEFAULT_PAGE_SIZE = 20


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of results and the numbers a pager needs."""

    items: list[T]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def has_previous(self) -> bool:
        return self.page > 1


def page_numbers(page: Any, page_size: Any) -> tuple[int, int]:
    """Validate ``page`` (>= 1) and ``page_size`` (1..200) given as strings or ints.

    :raises Invalid: when either is not a positive whole number in range.
    """
    try:
        number = int(page) if page not in (None, "") else 1
        size = int(page_size) if page_size not in (None, "") else DEFAULT_PAGE_SIZE
    except (TypeError, ValueError):
        raise Invalid("page and page_size must be whole numbers", fields={"page": "whole number"}) from None
    if number < 1:
        raise Invalid("page must be 1 or more", fields={"page": "must be >= 1"})
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise Invalid(f"page_size must be 1-{MAX_PAGE_SIZE}", fields={"page_size": f"1-{MAX_PAGE_SIZE}"})
    return number, size


def paginate(statement: Select[Any], page: int, page_size: int) -> Page[Any]:
    """Run ``statement`` for one page, counting the whole result once."""
    total = db.session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0
    items = list(db.session.scalars(statement.offset((page - 1) * page_size).limit(page_size)))
    return Page(items=items, total=total, page=page, page_size=page_size)
