"""Engines, sessions and migrations.

``database.url`` is given in the plain form (``sqlite:///path``, ``postgresql://user@host/db``);
the async driver (aiosqlite, asyncpg) is chosen here. Migrations are Alembic's, run in process:
``wardgate db upgrade``. ``serve`` refuses to start on a schema that is not at the head.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from wardgate.errors import ConfigError, WardgateError

__all__ = ["Database", "async_url", "StoreUnavailable", "SchemaNotCurrent"]

_MIGRATIONS = Path(__file__).with_name("migrations")


class StoreUnavailable(WardgateError):
    status_code = 503
    error_type = "api_error"
    code = "store.unavailable"
    default_message = "The gateway's database is unavailable; the request was not forwarded."


class SchemaNotCurrent(ConfigError):
    code = "store.schema_not_current"


def async_url(url: str) -> str:
    if url.startswith("sqlite:///") or url == "sqlite://":
        return "sqlite+aiosqlite" + url[len("sqlite"):]
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix):]
    if url.startswith(("sqlite+aiosqlite:", "postgresql+asyncpg:")):
        return url
    raise ConfigError("database.url: use sqlite:///PATH or postgresql://USER@HOST/DB")


def _alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.attributes["url"] = async_url(url)
    return cfg


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        if url.startswith("sqlite:///"):
            Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
        self.engine: AsyncEngine = create_async_engine(async_url(url), pool_pre_ping=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    async def close(self) -> None:
        await self.engine.dispose()

    # ---- migrations
    def upgrade(self, revision: str = "head") -> None:
        """Run migrations to ``revision`` (blocking; runs its own event loop if needed)."""
        command.upgrade(_alembic_config(self.url), revision)

    async def current_revision(self) -> str | None:
        try:
            async with self.engine.connect() as conn:
                return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())
        except (SQLAlchemyError, OSError) as exc:
            raise StoreUnavailable(f"cannot reach the database: {type(exc).__name__}") from exc

    @staticmethod
    def head_revision() -> str:
        return ScriptDirectory.from_config(_alembic_config("sqlite://")).get_current_head()

    async def check_schema(self) -> None:
        current = await self.current_revision()
        head = self.head_revision()
        if current != head:
            raise SchemaNotCurrent(
                f"database schema is at {current or 'nothing (empty database)'}, this version needs {head}: "
                "run `wardgate db upgrade` first")


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()


def run_sync(coro):
    """Run a coroutine from sync code (CLI)."""
    return asyncio.run(coro)
