//! Diesel table definitions, kept in step with `migrations/` by hand (reviewed with the SQL).

diesel::table! {
    messages (id) {
        id -> Uuid,
        recipient -> Text,
        content -> Text,
        status -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        claim_token -> Nullable<Uuid>,
        claimed_by -> Nullable<Text>,
        lease_expires_at -> Nullable<Timestamptz>,
        message_id -> Nullable<Text>,
        last_error -> Nullable<Text>,
        sent_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        idempotency_key -> Nullable<Text>,
        request_fingerprint -> Nullable<Text>,
    }
}

diesel::table! {
    delivery_attempts (id) {
        id -> Int8,
        message_id -> Uuid,
        attempt -> Int4,
        started_at -> Timestamptz,
        duration_ms -> Int4,
        outcome -> Text,
        status_code -> Nullable<Int4>,
        error_class -> Nullable<Text>,
        response_excerpt -> Nullable<Text>,
    }
}

diesel::table! {
    dispatch_state (singleton) {
        singleton -> Bool,
        active -> Bool,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(delivery_attempts -> messages (message_id));
diesel::allow_tables_to_appear_in_same_query!(messages, delivery_attempts, dispatch_state);
