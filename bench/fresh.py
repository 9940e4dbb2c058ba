"""The one database set-up every benchmark starts from: wiped (on PostgreSQL the public
schema is dropped), migrated, the diagrams in processes/ deployed, the demo loaded."""
from sqlalchemy import text

from engine import definitions, demo, migrate, users
from engine.db import Database
from engine.models import Deployment


def fresh_database(db: Database) -> Deployment:
    if db.is_postgres:
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    migrate.upgrade(db)
    users.use_fast_hashing()  # passwords are not what is measured
    with db.transaction() as session:
        deployment, _ = definitions.deploy(session)
        demo.load(session)
    return deployment
