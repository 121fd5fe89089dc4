//! Diesel table definitions, kept in step with `migrations/` by hand (reviewed with the SQL).

diesel::table! {
    deliveries (id) {
        id -> Uuid,
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
        attempt_seq -> Int4,
        event_id -> Uuid,
        endpoint_id -> Uuid,
    }
}

diesel::table! {
    delivery_attempts (id) {
        id -> Int8,
        delivery_id -> Uuid,
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

diesel::joinable!(delivery_attempts -> deliveries (delivery_id));
diesel::allow_tables_to_appear_in_same_query!(deliveries, delivery_attempts, dispatch_state);
