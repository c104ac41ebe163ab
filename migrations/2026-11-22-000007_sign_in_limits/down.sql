DELETE FROM rate_limit_counters WHERE user_id IS NULL;
ALTER TABLE rate_limit_counters
    DROP CONSTRAINT rate_limit_counters_subject_scope_window_key,
    DROP CONSTRAINT rate_limit_counters_one_owner,
    DROP COLUMN subject;
ALTER TABLE rate_limit_counters ALTER COLUMN user_id SET NOT NULL;
