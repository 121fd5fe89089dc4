//! What one pass of retention deleted.

/// Rows deleted, per table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub events: i64,
    pub deliveries: i64,
    pub attempts: i64,
}
