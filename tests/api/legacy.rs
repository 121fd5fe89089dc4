//! The message view of the store for the tests written before routing: a message is an event of
//! type `message` with one delivery to the endpoint `default`, as `/messages` creates it.

use herald::db::{
    AttemptRow, Backend, Batch, DEFAULT_ENDPOINT_ID, EventFilter, Inserted, MessageRecord,
    NewEvent, NewMessage, Route, StatusFilter, StoreError,
};
use herald::domain::MessageStatus;

/// Which messages to list. `status: None` lists every status.
pub struct ListFilter {
    pub status: Option<MessageStatus>,
    pub limit: u32,
    pub offset: u64,
}

pub struct Page {
    pub messages: Vec<MessageRecord>,
    pub total: i64,
}

/// The event of a message, routed to `default`.
pub fn routed(m: &NewMessage) -> NewEvent {
    let mut e = m.to_event();
    e.routes = vec![Route {
        endpoint_id: DEFAULT_ENDPOINT_ID,
        endpoint: "default".into(),
        ordering_key: None,
    }];
    e
}

pub trait MessageOps {
    fn insert(&self, messages: &[NewMessage]) -> Result<Vec<MessageRecord>, StoreError>;
    fn insert_idempotent(&self, message: &NewMessage) -> Result<Inserted, StoreError>;
    fn insert_batch(
        &self,
        messages: &[NewMessage],
        key: Option<&(String, String)>,
    ) -> Result<Batch, StoreError>;
    fn get(&self, id: uuid::Uuid) -> Result<(MessageRecord, Vec<AttemptRow>), StoreError>;
    fn list(&self, filter: &ListFilter) -> Result<Page, StoreError>;
}

impl<T: Backend + ?Sized> MessageOps for T {
    fn insert(&self, messages: &[NewMessage]) -> Result<Vec<MessageRecord>, StoreError> {
        let events: Vec<NewEvent> = messages.iter().map(routed).collect();
        match self.insert_events(&events, None)? {
            Batch::Created(e) | Batch::Replayed(e) => Ok(e.iter().map(MessageRecord::of).collect()),
        }
    }

    fn insert_idempotent(&self, message: &NewMessage) -> Result<Inserted, StoreError> {
        self.insert_event(&routed(message))
    }

    fn insert_batch(
        &self,
        messages: &[NewMessage],
        key: Option<&(String, String)>,
    ) -> Result<Batch, StoreError> {
        let events: Vec<NewEvent> = messages.iter().map(routed).collect();
        self.insert_events(&events, key)
    }

    fn get(&self, id: uuid::Uuid) -> Result<(MessageRecord, Vec<AttemptRow>), StoreError> {
        let (event, attempts) = self.get_event(id)?;
        Ok((MessageRecord::of(&event), attempts))
    }

    fn list(&self, filter: &ListFilter) -> Result<Page, StoreError> {
        let page = self.list_events(&EventFilter {
            event_type: Some("message".into()),
            status: filter.status.map(StatusFilter::Message),
            limit: filter.limit,
            offset: filter.offset,
        })?;
        Ok(Page {
            messages: page.events.iter().map(MessageRecord::of).collect(),
            total: page.total,
        })
    }
}
