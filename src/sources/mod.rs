//! Sources: the connectors that bring the directory in and take removals out.
//!
//! Every directory object records the source that owns it (`local`, a named SCIM
//! connection, a named CSV import, an LDAP connection). A source changes only its own
//! objects. Push sources (SCIM, CSV) deliver changes that attest applies; a removal that a
//! review decides on an object of a push source cannot be made here and becomes a
//! remediation task that later syncs verify. An LDAP connection is pulled: attest reads it
//! and writes removals back. This module holds what is specific to each connector: the
//! protocol or file format, parsed and checked (and for LDAP, the client). Storage and the
//! edges call into it.

pub mod csv;
pub mod ldap;
pub mod scim;
pub mod sign_ins;

use csv::{Field, FileKind, Line, Problem};

/// Checked records of one kind, read one at a time: a CSV file, or the entries an LDAP sync
/// read. An import writes any of them the same way.
pub trait Records {
    /// The kind of record.
    fn kind(&self) -> FileKind;
    /// How messages name the input (a file name, "LDAP users").
    fn name(&self) -> &str;
    /// The position (from 1) and header name of a field's column, where there are columns.
    fn column_of(&self, field: Field) -> Option<(usize, String)>;
    /// A problem with the record at `line`.
    fn problem(&self, line: u64, field: Option<Field>, message: String) -> Problem;
    /// The next record, or its problems; `None` at the end.
    fn next_record(&mut self) -> Option<Result<Line, Vec<Problem>>>;
}

impl<R: std::io::Read> Records for csv::Reader<R> {
    fn kind(&self) -> FileKind {
        csv::Reader::kind(self)
    }

    fn name(&self) -> &str {
        self.file()
    }

    fn column_of(&self, field: Field) -> Option<(usize, String)> {
        csv::Reader::column_of(self, field)
    }

    fn problem(&self, line: u64, field: Option<Field>, message: String) -> Problem {
        csv::Reader::problem(self, line, field, message)
    }

    fn next_record(&mut self) -> Option<Result<Line, Vec<Problem>>> {
        csv::Reader::next_record(self)
    }
}
