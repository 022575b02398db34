//! Both migration trees must give the same tables and columns, and match `schema.rs`.

use std::collections::BTreeMap;

use attest::config::DatabaseTarget;
use attest::db::{self, DbConnection};
use diesel::RunQueryDsl;

use crate::helpers::TestDb;

type Tables = BTreeMap<String, Vec<String>>;

#[derive(diesel::QueryableByName)]
struct Col {
    #[diesel(sql_type = diesel::sql_types::Text)]
    t: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    c: String,
}

/// Tables and their sorted columns, as the migrated database has them.
fn migrated_tables(target: &DatabaseTarget) -> Tables {
    let mut conn = db::establish(target).unwrap();
    db::migrate(&mut conn).unwrap();
    let sql = match &conn {
        DbConnection::Sqlite(_) => {
            "SELECT m.name AS t, p.name AS c FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '__diesel%'"
        }
        DbConnection::Pg(_) => {
            "SELECT table_name::text AS t, column_name::text AS c FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name NOT LIKE '__diesel%'"
        }
    };
    let rows: Vec<Col> = diesel::sql_query(sql).load(&mut conn).unwrap();
    let mut tables = Tables::new();
    for row in rows {
        tables.entry(row.t).or_default().push(row.c);
    }
    tables.values_mut().for_each(|cols| cols.sort());
    tables
}

/// Tables and columns declared in src/db/schema.rs.
fn declared_tables() -> Tables {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/db/schema.rs")).unwrap();
    let mut tables = Tables::new();
    let mut current: Option<String> = None;
    for line in text.lines().map(str::trim) {
        if let Some(name) = line.strip_suffix('{').and_then(|l| l.split_once(" (")).map(|(n, _)| n.trim().to_owned()) {
            current = Some(name);
        } else if line == "}" {
            current = None;
        } else if let (Some(table), Some((col, _))) = (&current, line.split_once(" ->")) {
            tables.entry(table.clone()).or_default().push(col.trim().to_owned());
        }
    }
    tables.values_mut().for_each(|cols| cols.sort());
    tables
}

#[test]
fn migrations_match_schema_rs() {
    let db = TestDb::new();
    let declared = declared_tables();
    assert!(declared.len() >= 13, "{declared:?}");
    assert_eq!(migrated_tables(&db.target), declared);
}

#[test]
fn both_trees_have_the_same_migrations() {
    let names = |dir: &str| {
        let mut v: Vec<String> = std::fs::read_dir(format!("{}/migrations/{dir}", env!("CARGO_MANIFEST_DIR")))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(names("sqlite"), names("postgres"));
}

#[test]
fn sqlite_and_postgres_trees_agree() {
    // The SQLite tree is always checked; with PostgreSQL configured, both are compared.
    let dir = tempfile::tempdir().unwrap();
    let sqlite = migrated_tables(&DatabaseTarget::Sqlite(dir.path().join("s.db")));
    let db = TestDb::new();
    if db.is_postgres() {
        assert_eq!(sqlite, migrated_tables(&db.target));
    } else {
        assert_eq!(sqlite, declared_tables());
    }
}

#[derive(diesel::QueryableByName)]
struct StatusRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    status: attest::domain::review::InstanceStatus,
}

#[test]
fn a_state_the_types_do_not_know_is_an_error_naming_its_column() {
    use attest::domain::review::InstanceStatus;
    let db = TestDb::new();
    let mut conn = db::establish(&db.target).unwrap();
    let read = |conn: &mut DbConnection, text: &str| {
        diesel::sql_query(format!("SELECT '{text}' AS status")).get_result::<StatusRow>(conn).map(|r| r.status)
    };
    assert_eq!(read(&mut conn, "InProgress").unwrap(), InstanceStatus::InProgress);
    let err = read(&mut conn, "Paused").err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("InstanceStatus") && err.contains("review_instances.status"), "{err}");
}

/// Every migration can be undone (its `down.sql` runs on the backend's tree, newest first,
/// back to an empty database) and done again, giving the same tables: an operator who must
/// step back a release can.
#[test]
fn every_migration_can_be_undone_and_done_again() {
    use diesel_migrations::MigrationHarness;
    let db = TestDb::new();
    let before = migrated_tables(&db.target);
    let mut conn = db::establish(&db.target).unwrap();
    let undone = match &mut conn {
        DbConnection::Sqlite(c) => c.revert_all_migrations(db::SQLITE_MIGRATIONS).map(|v| v.len()),
        DbConnection::Pg(c) => c.revert_all_migrations(db::POSTGRES_MIGRATIONS).map(|v| v.len()),
    }
    .unwrap();
    let all = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite")).unwrap().count();
    assert_eq!(undone, all, "every migration is undone");
    drop(conn);
    assert_eq!(migrated_tables(&db.target), before);
}
