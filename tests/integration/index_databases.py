"""Databases for the indexer tests, on SQLite and on a throwaway PostgreSQL cluster: the
same tests run on both. A test module imports both fixtures by name
(``from tests.integration.index_databases import database_url, postgres``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.postgres import PostgresCluster, start_postgres

_databases = itertools.count()


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresCluster]:
    """One throwaway cluster for the module; fails (not skips) when PostgreSQL is missing."""
    try:
        cluster = start_postgres()
    except Exception as error:
        pytest.fail(f"cannot start PostgreSQL for the indexer tests: {error}")
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], str]:
    """Factory of new empty databases of the parametrized kind."""

    def make() -> str:
        number = next(_databases)
        if request.param == "sqlite":
            return f"sqlite:///{tmp_path}/index-{number}.sqlite"
        cluster: PostgresCluster = request.getfixturevalue("postgres")
        return cluster.create_database(f"index_{number}")

    return make
