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

/// An error that may say "the database gave up because of a concurrent writer; running the
/// same transaction again will work" (PostgreSQL's serialization failures and deadlocks).
pub trait Retryable {
    /// Whether the transaction that failed with this error may simply be run again.
    fn is_retryable(&self) -> bool;
}

impl Retryable for diesel::result::Error {
    fn is_retryable(&self) -> bool {
        use diesel::result::{DatabaseErrorKind, Error};
        match self {
            Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => true,
            // 40P01 has no kind of its own in diesel.
            Error::DatabaseError(_, info) => info.message().contains("deadlock detected"),
            _ => false,
        }
    }
}

impl Retryable for crate::error::AppError {
    fn is_retryable(&self) -> bool {
        match self {
            Self::Internal(cause) => cause.downcast_ref::<diesel::result::Error>().is_some_and(Retryable::is_retryable),
            _ => false,
        }
    }
}

impl Retryable for anyhow::Error {
    fn is_retryable(&self) -> bool {
        self.downcast_ref::<diesel::result::Error>().is_some_and(Retryable::is_retryable)
    }
}

/// How often a PostgreSQL write transaction is run again after a serialization failure.
const WRITE_RETRIES: usize = 5;

impl DbConnection {
    /// Runs `work` in a transaction that writes.
    ///
    /// On SQLite it begins with `BEGIN IMMEDIATE`: a deferred transaction starts as a
    /// reader and must upgrade to the one writer later, which fails at once with "database
    /// is locked" (the busy timeout cannot help a reader whose snapshot another writer has
    /// moved past). Taking the write lock first makes concurrent writers queue on the busy
    /// timeout instead. On PostgreSQL it keeps the default isolation and runs the
    /// transaction again (up to [`WRITE_RETRIES`] times) when it failed with a
    /// serialization failure or a deadlock. Inside an open transaction it is a savepoint.
    pub fn write<T, E, F>(&mut self, mut work: F) -> Result<T, E>
    where
        F: FnMut(&mut DbConnection) -> Result<T, E>,
        E: From<diesel::result::Error> + Retryable,
    {
        use diesel::connection::{AnsiTransactionManager, TransactionManager};
        type Manager = <DbConnection as Connection>::TransactionManager;
        let nested = match Manager::transaction_manager_status_mut(self).transaction_depth() {
            Ok(depth) => depth.is_some(),
            Err(e) => return Err(e.into()),
        };
        if nested {
            return self.transaction(work);
        }
        match self {
            DbConnection::Sqlite(inner) => {
                AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?;
                match work(self) {
                    Ok(value) => {
                        Manager::commit_transaction(self)?;
                        Ok(value)
                    }
                    Err(e) => {
                        Manager::rollback_transaction(self)?;
                        Err(e)
                    }
                }
            }
            DbConnection::Pg(_) => {
                let mut attempt = 0;
                loop {
                    match self.transaction(&mut work) {
                        Err(e) if e.is_retryable() && attempt < WRITE_RETRIES => {
                            attempt += 1;
                            tracing::debug!(attempt, "a write transaction met a concurrent writer; running it again");
                        }
                        other => return other,
                    }
                }
            }
        }
    }
}
