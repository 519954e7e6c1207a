//! The schema migrations of both backends, embedded in the binary (`migrations/sqlite`,
//! `migrations/postgres`). Append-only: a shipped migration is never edited, a new one is added here.

use std::borrow::Cow;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AssertSqlSafe, SqlSafeStr};

/// (version, description, SQLite script, PostgreSQL script).
const MIGRATIONS: &[(i64, &str, &str, &str)] = &[
    (
        1,
        "registry",
        include_str!("../../../migrations/sqlite/0001_registry.sql"),
        include_str!("../../../migrations/postgres/0001_registry.sql"),
    ),
    (
        2,
        "audit",
        include_str!("../../../migrations/sqlite/0002_audit.sql"),
        include_str!("../../../migrations/postgres/0002_audit.sql"),
    ),
    (
        3,
        "agency",
        include_str!("../../../migrations/sqlite/0003_agency.sql"),
        include_str!("../../../migrations/postgres/0003_agency.sql"),
    ),
    (
        4,
        "monitoring",
        include_str!("../../../migrations/sqlite/0004_monitoring.sql"),
        include_str!("../../../migrations/postgres/0004_monitoring.sql"),
    ),
    (
        5,
        "requests",
        include_str!("../../../migrations/sqlite/0005_requests.sql"),
        include_str!("../../../migrations/postgres/0005_requests.sql"),
    ),
    (
        6,
        "law",
        include_str!("../../../migrations/sqlite/0006_law.sql"),
        include_str!("../../../migrations/postgres/0006_law.sql"),
    ),
    (
        7,
        "dimensions",
        include_str!("../../../migrations/sqlite/0007_dimensions.sql"),
        include_str!("../../../migrations/postgres/0007_dimensions.sql"),
    ),
    (
        8,
        "restores",
        include_str!("../../../migrations/sqlite/0008_restores.sql"),
        include_str!("../../../migrations/postgres/0008_restores.sql"),
    ),
    (
        9,
        "exchange",
        include_str!("../../../migrations/sqlite/0009_exchange.sql"),
        include_str!("../../../migrations/postgres/0009_exchange.sql"),
    ),
    (
        10,
        "console",
        include_str!("../../../migrations/sqlite/0010_console.sql"),
        include_str!("../../../migrations/postgres/0010_console.sql"),
    ),
];

fn migrator(
    pick: fn(&'static (i64, &'static str, &'static str, &'static str)) -> &'static str,
) -> Migrator {
    Migrator::with_migrations(
        MIGRATIONS
            .iter()
            .map(|m| {
                Migration::new(
                    m.0,
                    Cow::Borrowed(m.1),
                    MigrationType::Simple,
                    AssertSqlSafe(pick(m)).into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

/// Migrations for SQLite.
pub fn sqlite() -> Migrator {
    migrator(|m| m.2)
}

/// Migrations for PostgreSQL.
pub fn postgres() -> Migrator {
    migrator(|m| m.3)
}
