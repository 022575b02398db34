//! Sources: the connectors that bring the directory in and take removals out.
//!
//! Every directory object records the source that owns it (`local`, a named SCIM
//! connection, a named CSV import, later LDAP). A source changes only its own objects.
//! Push sources (SCIM, CSV) deliver changes that attest applies; a removal that a review
//! decides on an object of a push source cannot be made here and becomes a remediation task
//! that later syncs verify. This module holds what is specific to each connector: the
//! protocol or file format, parsed and checked without I/O. Storage and the HTTP edge
//! call into it.

pub mod csv;
pub mod scim;
pub mod sign_ins;
