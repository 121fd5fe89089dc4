//! [`RuleStore`] on SQLite: reads on a reader, changes on the writer.

use uuid::Uuid;

use super::super::rules::{ReminderQuery, ReminderRecord, RuleCounts, RuleNote, RuleRow};
use super::super::{RuleStore, StoreError};
use super::{SqliteStore, rules};

impl RuleStore for SqliteStore {
    fn rules(&self) -> Result<Vec<RuleRow>, StoreError> {
        self.read(rules::all)
    }

    fn create_rule(&self, rule: &RuleRow) -> Result<RuleRow, StoreError> {
        self.write(|c| rules::create(c, rule))
    }

    fn update_rule(&self, rule: &RuleRow) -> Result<RuleRow, StoreError> {
        self.write(|c| rules::update(c, rule))
    }

    fn delete_rule(&self, id: Uuid) -> Result<usize, StoreError> {
        self.write(|c| rules::delete(c, id))
    }

    fn reminders(&self, query: &ReminderQuery) -> Result<Vec<ReminderRecord>, StoreError> {
        self.read(|c| rules::reminders(c, query))
    }

    fn rule_counts(&self) -> Result<Vec<(Uuid, RuleCounts)>, StoreError> {
        self.read(rules::counts)
    }

    fn rule_notes(&self, event: Uuid) -> Result<Vec<RuleNote>, StoreError> {
        self.read(|c| rules::notes(c, event))
    }
}
