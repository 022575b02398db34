//! Connections to SQLite or PostgreSQL behind one type, the pool, and the embedded
//! migrations of each backend.

pub mod schema;

use std::path::Path;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::{PgConnection, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::config::DatabaseTarget;

/// Migrations of the SQLite tree, compiled into the binary.
pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
/// Migrations of the PostgreSQL tree (same names as the SQLite tree).
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// One connection to either backend; queries written once run on both.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    /// The embedded default.
    Sqlite(SqliteConnection),
    /// For larger installations and several attest processes.
    Pg(PgConnection),
}

/// The connection pool.
pub type Pool = r2d2::Pool<Manager>;
/// A connection taken from the pool.
pub type PooledConn = r2d2::PooledConnection<Manager>;

/// Why a database could not be opened or migrated; the message says what to fix.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DbSetupError(String);

/// Opens connections for r2d2, choosing the backend from the parsed URL.
#[derive(Debug, Clone)]
pub struct Manager {
    target: DatabaseTarget,
}

impl Manager {
    /// A manager for `target`.
    pub fn new(target: DatabaseTarget) -> Self {
        Self { target }
    }
}

/// Opens one connection, with the per-connection settings SQLite needs.
pub fn establish(target: &DatabaseTarget) -> Result<DbConnection, DbSetupError> {
    match target {
        DatabaseTarget::Sqlite(path) => {
            check_sqlite_path(path)?;
            let name = path.to_string_lossy();
            let mut conn = SqliteConnection::establish(&name)
                .map_err(|e| DbSetupError(format!("cannot open the SQLite database {}: {e}", path.display())))?;
            // WAL lets readers run beside the one writer; foreign keys are off by default
            // in SQLite; the busy timeout makes a second writer wait instead of failing; a
            // 64 MiB page cache keeps the indexes of large directories in memory.
            conn.batch_execute(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                 PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; \
                 PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY;",
            )
            .map_err(|e| {
                DbSetupError(format!(
                    "cannot use the SQLite database {} (is the file and its directory writable?): {e}",
                    path.display()
                ))
            })?;
            Ok(DbConnection::Sqlite(conn))
        }
        DatabaseTarget::Postgres(url) => PgConnection::establish(url).map(DbConnection::Pg).map_err(|e| {
            let reason = e.to_string().lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("; ");
            DbSetupError(format!("cannot connect to {}: {reason}", target.describe()))
        }),
    }
}

/// SQLite creates a missing file but not a missing directory, and its own message
/// ("unable to open database file") does not say which; say it first.
fn check_sqlite_path(path: &Path) -> Result<(), DbSetupError> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(DbSetupError(format!(
            "cannot create the SQLite database {}: the directory {} does not exist",
            path.display(),
            dir.display()
        )));
    }
    if path.is_dir() {
        return Err(DbSetupError(format!("cannot use {} as the SQLite database: it is a directory", path.display())));
    }
    Ok(())
}

impl r2d2::ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = DbSetupError;

    fn connect(&self) -> Result<DbConnection, DbSetupError> {
        establish(&self.target)
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), DbSetupError> {
        conn.batch_execute("SELECT 1").map_err(|e| DbSetupError(e.to_string()))
    }

    fn has_broken(&self, _conn: &mut DbConnection) -> bool {
        false
    }
}

/// Connects (failing fast with a clear message), migrates, and builds the pool.
pub fn connect_and_migrate(target: &DatabaseTarget, pool_size: u32) -> Result<Pool, DbSetupError> {
    let mut first = establish(target)?;
    migrate(&mut first)?;
    drop(first);
    r2d2::Pool::builder()
        .max_size(pool_size)
        .min_idle(Some(1))
        .connection_timeout(Duration::from_secs(15))
        .test_on_check_out(false)
        .build(Manager::new(target.clone()))
        .map_err(|e| DbSetupError(format!("cannot open a connection pool to {}: {e}", target.describe())))
}

/// Runs the pending migrations of the connection's backend.
pub fn migrate(conn: &mut DbConnection) -> Result<usize, DbSetupError> {
    let fail =
        |e: Box<dyn std::error::Error + Send + Sync>| DbSetupError(format!("migrating the database failed: {e}"));
    match conn {
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()).map_err(fail),
        DbConnection::Pg(c) => {
            // Several attest processes may start at once against one PostgreSQL: a
            // session-level advisory lock lets one migrate while the others wait.
            c.batch_execute("SELECT pg_advisory_lock(7411952)").map_err(|e| fail(Box::new(e)))?;
            let result = c.run_pending_migrations(POSTGRES_MIGRATIONS).map(|v| v.len()).map_err(fail);
            let unlock = c.batch_execute("SELECT pg_advisory_unlock(7411952)");
            let applied = result?;
            unlock.map_err(|e| fail(Box::new(e)))?;
            Ok(applied)
        }
    }
}

impl DbConnection {
    /// Whether this is the SQLite backend (for the few places where SQL must differ).
    pub fn is_sqlite(&self) -> bool {
        matches!(self, Self::Sqlite(_))
    }
}
