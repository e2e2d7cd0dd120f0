"""Schema migrations: applied once, re-runs are no-ops, a failing migration leaves no trace."""

import re
import shutil

from harness import MIGRATIONS_DIR, run_havend


def migration_versions():
    """The versions of the migration files in src/migrations."""
    versions = []
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        m = re.match(r"^(\d{4})_[a-z0-9_]+\.sql$", path.name)
        assert m, f"unexpected migration file name {path.name}"
        versions.append(int(m.group(1)))
    return versions


def applied(database):
    """schema_migrations as [(version, name, applied_at)], in version order."""
    return database.query("SELECT version, name, applied_at FROM schema_migrations ORDER BY 1")


def test_second_start_applies_nothing(start_havend, db):
    start_havend(db).wait_healthy().stop()
    first = applied(db)
    versions = [row[0] for row in first]
    assert versions and versions[0] == 1
    assert len(set(versions)) == len(versions)
    assert db.table_exists("meetings")

    start_havend(db).wait_healthy().stop()
    # Same rows, same applied_at: nothing was applied again.
    assert applied(db) == first


def test_migrate_command_applies_all_and_exits_0(db, havend_binary):
    proc = run_havend(["migrate", "--database-url", db.url])
    assert proc.returncode == 0, proc.stderr
    rows = applied(db)
    # Every file in src/migrations is built into havend (listed in src/migrations/meson.build).
    assert [row[0] for row in rows] == migration_versions(), \
        "applied versions differ from the files in src/migrations"

    again = run_havend(["migrate", "--database-url", db.url])
    assert again.returncode == 0, again.stderr
    assert applied(db) == rows


def test_failing_migration_changes_nothing(db, havend_binary, tmp_path):
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    for path in MIGRATIONS_DIR.glob("*.sql"):
        shutil.copy(path, migrations / path.name)
    proc = run_havend(["migrate", "--database-url", db.url,
                       "--database-migrations-dir", migrations])
    assert proc.returncode == 0, proc.stderr
    before = applied(db)

    (migrations / "9999_broken.sql").write_text(
        "CREATE TABLE broken_probe (id integer);\n"
        "SELECT no_such_column FROM no_such_table_for_haven_tests;\n",
        encoding="utf-8",
    )

    proc = run_havend(["migrate", "--database-url", db.url,
                       "--database-migrations-dir", migrations])
    assert proc.returncode != 0, f"migrate succeeded with a broken migration:\n{proc.stderr}"
    assert "9999" in proc.stderr or "broken" in proc.stderr, proc.stderr

    assert not db.table_exists("broken_probe")
    assert applied(db) == before
