DROP INDEX jobs_finished_idx;
DROP INDEX jobs_lease_idx;
DROP INDEX jobs_ready_idx;
CREATE INDEX jobs_ready_idx ON jobs (priority DESC, run_at) WHERE status = 'queued';
DROP INDEX jobs_unique_key_pending_idx;
ALTER TABLE jobs DROP COLUMN progress, DROP COLUMN unique_key;
