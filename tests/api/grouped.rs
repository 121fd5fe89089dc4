//! Outcomes recorded in groups: one statement per group, every row still guarded by its own
//! claim token, every attempt stored.

use std::time::{Duration, Instant};

use herald::actors::Recorder;
use herald::db::{Claim, FinishResult, Op};
use herald::domain::{Finish, MessageStatus};

use crate::helpers::*;

async fn claim(app: &TestApp, n: u32, lease: Duration) -> Vec<Claim> {
    app.handles
        .store
        .run(Op::Claim, move |s| s.claim_due(n, lease, "grouped"))
        .await
        .unwrap()
}

#[actix_rt::test]
async fn a_stale_claim_in_a_group_is_refused_and_the_others_still_apply() {
    let app = spawn_app().await;
    app.insert(3).await;
    let mut claims = claim(&app, 3, Duration::from_secs(30)).await;
    // The third claim was taken over: its token no longer matches.
    app.db
        .exec(&format!(
            "UPDATE deliveries SET claim_token = gen_random_uuid() WHERE id = '{}'",
            claims[2].id
        ))
        .unwrap();
    let stale_id = claims[2].event_id;
    let group = vec![
        recorded(
            claims.remove(0),
            Finish::Sent {
                message_id: Some("wh-1".into()),
            },
        ),
        recorded(
            claims.remove(0),
            Finish::Retry {
                after: Duration::from_secs(60),
                error: "HTTP 503".into(),
            },
        ),
        recorded(
            claims.remove(0),
            Finish::Failed {
                error: "late".into(),
            },
        ),
    ];
    let ids: Vec<uuid::Uuid> = group.iter().map(|r| r.claim.event_id).collect();
    let results = app
        .handles
        .store
        .run(Op::Finish, move |s| s.finish(&group))
        .await
        .unwrap();
    assert!(matches!(
        results[0],
        FinishResult::Applied { sent_at: Some(_) }
    ));
    assert!(matches!(results[1], FinishResult::Applied { .. }));
    assert_eq!(results[2], FinishResult::Stale);

    let sent = app.message(ids[0]).await;
    assert_eq!(
        (sent.status, sent.message_id.as_deref()),
        (MessageStatus::Sent, Some("wh-1"))
    );
    let retried = app.message(ids[1]).await;
    assert_eq!(retried.status, MessageStatus::Pending);
    assert_eq!(retried.last_error.as_deref(), Some("HTTP 503"));
    assert!(retried.next_attempt_at > chrono::Utc::now() + chrono::Duration::seconds(50));
    let stale = app.message(stale_id).await;
    assert_eq!(
        stale.status,
        MessageStatus::Sending,
        "the new owner's row is untouched"
    );
    assert_eq!(app.db.count("true"), 3, "nothing else changed");
    let attempts = app.attempts(stale_id).await;
    assert_eq!(
        attempts.len(),
        1,
        "even a stale attempt is kept in the history"
    );
}

#[actix_rt::test]
async fn outcomes_recorded_together_each_get_their_own_answer_well_within_the_lease() {
    let app = spawn_app().await;
    app.insert(200).await;
    let claims = claim(&app, 200, Duration::from_secs(2)).await;
    let lease_ends = claims[0].deadline;
    let recorder = Recorder::start(app.handles.store.clone());
    let pending: Vec<_> = claims
        .into_iter()
        .map(|c| {
            let recorder = recorder.clone();
            actix_rt::spawn(async move {
                recorder
                    .record(recorded(c, Finish::Sent { message_id: None }))
                    .await
            })
        })
        .collect();
    for p in pending {
        assert!(matches!(p.await.unwrap(), Ok(FinishResult::Applied { .. })));
    }
    assert!(
        Instant::now() < lease_ends,
        "all written before the lease ran out"
    );
    assert_eq!(app.db.count("status = 'sent'"), 200);
    let groups = app
        .handles
        .monitor
        .metrics
        .store_errors
        .with_label_values(&["finish"])
        .get();
    assert_eq!(groups, 0);
}
