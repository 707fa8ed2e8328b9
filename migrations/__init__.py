"""Alembic environment and revisions, shipped as a package so any install can migrate."""
