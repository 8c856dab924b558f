"""Alembic environment: async engines, URL from the config's attributes (never a file)."""

import asyncio
import threading

from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine

from wardgate.store.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


async def _main() -> None:
    engine = create_async_engine(config.attributes["url"])
    async with engine.begin() as conn:
        await conn.run_sync(_run)
    await engine.dispose()


def _in_thread() -> None:
    # `upgrade` may be called from inside a running event loop (tests, demo): use a thread.
    error: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(_main())
        except BaseException as exc:  # re-raised in the caller's thread
            error.append(exc)

    t = threading.Thread(target=target)
    t.start()
    t.join()
    if error:
        raise error[0]


_in_thread()
