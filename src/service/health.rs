//! Whether attest can serve: the health check's question.

use crate::db::DbConnection;
use crate::error::AppError;
use crate::store;

/// Succeeds when the database answers a query.
pub fn database_answers(conn: &mut DbConnection) -> Result<(), AppError> {
    Ok(store::ping(conn)?)
}
