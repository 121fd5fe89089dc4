//! The dashboard's Reminder rules panel in headless Chromium: a rule with its next reminder and
//! its counts pending and sent.

use serde_json::json;

use crate::chromium::Browser;
use crate::dashboard::eval;
use crate::helpers::*;
use crate::reminders::{expiry, notify, rule};
use crate::routing::{ROUTING, event};

const RULE_ROW: &str = "(async () => {
  const row = await waitFor(() => document.querySelector('#rules tbody tr[data-name=\"expiry\"]'));
  const cells = [...row.cells].map((c) => c.textContent);
  return { type: cells[1], offsets: cells[2], zone: cells[3], endpoint: cells[4], state: cells[5],
           next: cells[6] !== '–', pending: cells[7], sent: cells[8] };
})()";

#[actix_rt::test]
async fn the_rules_panel_shows_each_rule_with_its_next_reminder_and_counts() {
    let app = spawn_app_with(ROUTING).await;
    notify(&app).await;
    let mut body = expiry(&["-7d", "-1d"]);
    body["timezone"] = json!("Europe/Istanbul");
    body["quiet_hours"] = json!({"start": "22:00", "end": "08:00"});
    rule(&app, body).await;
    event(
        &app,
        json!({"type": "user.password_set",
        "payload": {"user_id": "u1", "expires_at": "2027-05-01"}}),
    )
    .await;
    let url = format!("{}/", app.address);
    let browser = tokio::task::spawn_blocking(move || Browser::open(&url))
        .await
        .unwrap();
    let (shown, _) = eval(browser, RULE_ROW).await;
    assert_eq!(
        shown,
        json!({"type": "user.password_set", "offsets": "-7d, -1d",
               "zone": "Europe/Istanbul (quiet 22:00–08:00)", "endpoint": "notify",
               "state": "enabled", "next": true, "pending": "2", "sent": "0"})
    );
}
