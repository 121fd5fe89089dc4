-- A delivery holds a claim token exactly while it is `sending`: every statement that moves a
-- row out of `sending` clears the token, and nothing else sets one. The constraint states it,
-- so that the statements that finish, release or defer a claim can find their rows by primary
-- key and token alone. With `status = 'sending'` in their WHERE clause, the planner walked the
-- partial index `deliveries_sending_lease` (statistics say few rows are sending) and compared
-- each of the instance's in-flight deliveries with each row of the group: O(in flight × group)
-- per outcome group (BENCHMARKS.md, 2026-12-01, issue 15).
UPDATE deliveries SET claim_token = NULL, claimed_by = NULL
WHERE status <> 'sending' AND claim_token IS NOT NULL;
ALTER TABLE deliveries
    ADD CONSTRAINT deliveries_token_while_sending
        CHECK ((status = 'sending') = (claim_token IS NOT NULL));
