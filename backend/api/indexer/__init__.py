"""The indexer: follows `BlobRegistry` events into a relational store (SQLAlchemy: SQLite
by default, PostgreSQL by URL; schema by Alembic migrations) and answers `GET /v1/index/...`
(blobs by owner, attribute, expiry; quilt patches by identifier and tag). See docs/indexer.md.
"""
