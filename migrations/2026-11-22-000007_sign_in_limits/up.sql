-- Failed sign-ins are limited per email address and per client address (identity issue),
-- before anyone is known: a counter may now belong to a subject other than a user.
-- `subject` is `email:<sha-256 of the lower-cased address>` or `ip:<address>`; exactly one of
-- user_id and subject is set. See docs/data-model.md (Rate limits).
ALTER TABLE rate_limit_counters ALTER COLUMN user_id DROP NOT NULL;
ALTER TABLE rate_limit_counters
    ADD COLUMN subject text CONSTRAINT rate_limit_counters_subject_format CHECK (subject ~ '^[a-z]+:[^\s]{1,200}$'),
    ADD CONSTRAINT rate_limit_counters_one_owner CHECK ((user_id IS NULL) <> (subject IS NULL)),
    ADD CONSTRAINT rate_limit_counters_subject_scope_window_key UNIQUE (subject, scope, window_kind, window_start);
