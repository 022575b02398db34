//! Settings, from command-line flags and `ATTEST_*` / `DATABASE_URL` environment variables.
//! Every parse error names the flag or variable to fix.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// attest: self-hosted access reviews of groups, applications and roles.
#[derive(Debug, Parser)]
#[command(name = "attest", version, about)]
pub struct Cli {
    /// Database to use: sqlite://PATH (embedded, the default) or postgres://USER@HOST/DB.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://attest.db", global = true)]
    pub database_url: String,

    /// Log filter, e.g. `info` or `attest=debug,actix_web=info`.
    #[arg(long, env = "ATTEST_LOG", default_value = "info", global = true)]
    pub log: String,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The sub-commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web portal (migrates the database first).
    Serve(ServeArgs),
    /// Create or upgrade the database tables, then exit.
    Migrate,
    /// Fill the database with a generated demo directory (users, groups, apps, roles,
    /// sign-ins). Refuses if the directory already has users.
    DemoData(DemoArgs),
}

/// Flags of `attest serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "ATTEST_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// Seed a demo directory on first start (kept on later starts).
    #[arg(long, env = "ATTEST_DEMO")]
    pub demo: bool,

    /// Database connections kept open (2–4 is plenty on a small machine).
    #[arg(long, env = "ATTEST_POOL_SIZE", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub pool_size: u32,

    /// Users in the demo directory seeded by `--demo`.
    #[arg(long, env = "ATTEST_DEMO_USERS", default_value_t = 500, value_parser = clap::value_parser!(u32).range(10..=2_000_000))]
    pub demo_users: u32,
}

/// Flags of `attest demo-data`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// How many users to generate (10 % guests); groups, apps and sign-ins scale with it.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(10..=2_000_000))]
    pub users: u32,

    /// Seed of the generator: the same seed gives the same directory.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,

    /// Days of sign-in history to generate, ending now.
    #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=730))]
    pub sign_in_days: u32,
}

/// Which database the URL names, decided by its scheme alone (SQLite would accept any
/// string as a file name, so trying connections in turn would be wrong).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseTarget {
    /// An SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL, passed to libpq as is.
    Postgres(String),
}

impl DatabaseTarget {
    /// Parses a `DATABASE_URL`.
    pub fn parse(url: &str) -> Result<Self, String> {
        let url = url.trim();
        if let Some(rest) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
            if rest.is_empty() {
                return Err("DATABASE_URL: sqlite:// needs a file path, e.g. sqlite://attest.db".into());
            }
            return Ok(Self::Sqlite(PathBuf::from(rest)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_owned()));
        }
        let scheme = url.split_once("://").map_or(url, |(scheme, _)| scheme);
        Err(format!(
            "DATABASE_URL: unsupported database '{scheme}'; use sqlite://PATH or postgres://USER@HOST:PORT/DATABASE"
        ))
    }

    /// A description safe for logs: never the password.
    pub fn describe(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("SQLite file {}", path.display()),
            Self::Postgres(url) => format!("PostgreSQL {}", redact_password(url)),
        }
    }
}

/// Hides the password of a `scheme://user:password@host` URL.
fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_pick_backend_by_scheme() {
        assert_eq!(DatabaseTarget::parse("sqlite://attest.db"), Ok(DatabaseTarget::Sqlite("attest.db".into())));
        assert_eq!(DatabaseTarget::parse("sqlite:///var/a.db"), Ok(DatabaseTarget::Sqlite("/var/a.db".into())));
        assert!(matches!(DatabaseTarget::parse("postgres://u@h/db"), Ok(DatabaseTarget::Postgres(_))));
        assert!(matches!(DatabaseTarget::parse("postgresql://u@h/db"), Ok(DatabaseTarget::Postgres(_))));
        let err = DatabaseTarget::parse("mysql://root@localhost/x").unwrap_err();
        assert!(err.contains("unsupported database 'mysql'"), "{err}");
        assert!(DatabaseTarget::parse("attest.db").is_err());
        assert!(DatabaseTarget::parse("sqlite://").is_err());
    }

    #[test]
    fn passwords_are_not_described() {
        let t = DatabaseTarget::parse("postgres://bob:hunter2@db:5432/attest").unwrap();
        assert_eq!(t.describe(), "PostgreSQL postgres://bob:***@db:5432/attest");
    }
}
