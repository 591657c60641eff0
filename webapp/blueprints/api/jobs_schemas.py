"""JSON shapes of jobs (the OpenAPI document's source)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

JobState = Literal["queued", "running", "succeeded", "failed", "cancelled"]


class JobRef(BaseModel):
    """The job an accepted (202) request started; poll ``url`` for its progress."""

    id: int
    state: JobState
    done: int
    total: int
    url: str


class JobItemError(BaseModel):
    item: str
    error: str


class JobOut(BaseModel):
    id: int
    kind: str
    state: JobState
    router_id: int | None
    done: int
    total: int
    errors: list[JobItemError]
    error_count: int
    error: str | None
    result: Any
    attempts: int
    cancel_requested: bool
    created_at: str | None
    started_at: str | None
    finished_at: str | None
    url: str


class JobPage(BaseModel):
    count: int
    next: str | None
    previous: str | None
    results: list[JobOut]
