"""UsageRepo: the spend ledger (``usage_records``): batched inserts, the sums that seed
limit counters, and the usage reports (``wardgate usage``, ``/admin/v1/usage``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from wardgate.store.db import Database, StoreUnavailable
from wardgate.store.models import UsageRecord

__all__ = ["UsageRepo", "GROUPS"]

GROUPS = {"key": UsageRecord.key_id, "user": UsageRecord.user_id, "workspace": UsageRecord.workspace_id,
          "model": UsageRecord.model, "day": UsageRecord.day, "session": UsageRecord.session_id}
_SCOPES = {"key": UsageRecord.key_id, "user": UsageRecord.user_id, "workspace": UsageRecord.workspace_id}
_TOKENS = (UsageRecord.input_tokens + UsageRecord.output_tokens + UsageRecord.cache_write_tokens
           + UsageRecord.cache_read_tokens)


def _like(pattern: str) -> str:
    out = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return out.replace("*", "%").replace("?", "_")


class UsageRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def insert_many(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        table = UsageRecord.__table__
        try:  # Core executemany: no ORM unit of work for rows nobody reads back
            async with self.db.engine.begin() as conn:
                await conn.execute(table.insert(), rows)
        except IntegrityError:  # a retried batch: insert row by row, skipping what is there
            for row in rows:
                try:
                    async with self.db.engine.begin() as conn:
                        await conn.execute(table.insert(), [row])
                except IntegrityError:
                    continue
        except (SQLAlchemyError, OSError) as exc:
            raise StoreUnavailable() from exc

    async def total(self, scope: str, scope_id: str, model: str | None, measure: str, since: float) -> int:
        """Spend (nano-USD) or tokens of one scope since ``since`` (epoch seconds)."""
        col = UsageRecord.cost_nano if measure == "cost" else _TOKENS
        q = select(func.coalesce(func.sum(col), 0)).where(UsageRecord.at >= since)
        if scope in _SCOPES:
            q = q.where(_SCOPES[scope] == scope_id)
        if model is not None and model != "*":
            q = q.where(UsageRecord.model.like(_like(model), escape="\\"))
        try:
            async with self.db.sessions() as s:
                return int((await s.execute(q)).scalar_one())
        except (SQLAlchemyError, OSError) as exc:
            raise StoreUnavailable() from exc

    async def report(self, group_by: list[str], *, since: float | None = None, until: float | None = None,
                     workspace: str | None = None, key: str | None = None, user: str | None = None,
                     top: int | None = None) -> list[dict[str, Any]]:
        cols = [GROUPS[g].label(g) for g in group_by]
        q = select(*cols, func.count().label("requests"),
                   func.coalesce(func.sum(UsageRecord.input_tokens), 0).label("input_tokens"),
                   func.coalesce(func.sum(UsageRecord.output_tokens), 0).label("output_tokens"),
                   func.coalesce(func.sum(UsageRecord.cache_write_tokens), 0).label("cache_write_tokens"),
                   func.coalesce(func.sum(UsageRecord.cache_read_tokens), 0).label("cache_read_tokens"),
                   func.coalesce(func.sum(UsageRecord.cost_nano), 0).label("cost_nano"))
        if since is not None:
            q = q.where(UsageRecord.at >= since)
        if until is not None:
            q = q.where(UsageRecord.at < until)
        for col, v in ((UsageRecord.workspace_id, workspace), (UsageRecord.key_id, key), (UsageRecord.user_id, user)):
            if v is not None:
                q = q.where(col == v)
        if cols:
            q = q.group_by(*[GROUPS[g] for g in group_by])
        q = q.order_by(func.coalesce(func.sum(UsageRecord.cost_nano), 0).desc(), *[GROUPS[g] for g in group_by])
        if top is not None:
            q = q.limit(top)
        try:
            async with self.db.sessions() as s:
                rows = (await s.execute(q)).mappings().all()
        except (SQLAlchemyError, OSError) as exc:
            raise StoreUnavailable() from exc
        out = []
        for r in rows:
            d = {k: (v if k in GROUPS else int(v)) for k, v in r.items()}  # PostgreSQL sums are Decimal
            d["cost_usd"] = round(d["cost_nano"] / 1e9, 6)
            out.append(d)
        return out
