"""The models and the Alembic migrations agree, so a deployed database can always be upgraded."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from hotline.models import Base


def test_migrated_schema_matches_the_models(db):
    # the session database was created by `migrate.upgrade` (see conftest), not by create_all
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []
