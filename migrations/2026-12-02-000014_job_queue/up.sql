-- The jobs table becomes a queue (src/jobs/, docs/jobs.md): a key that keeps the same work
-- from being queued twice while it is pending, the progress a running job reports, and the
-- indexes the workers' statements use (ready jobs in claim order, expired leases, finished
-- jobs for the retention sweep).
ALTER TABLE jobs
    ADD COLUMN unique_key text CONSTRAINT jobs_unique_key_length CHECK (length(unique_key) BETWEEN 1 AND 200),
    ADD COLUMN progress   jsonb;

CREATE UNIQUE INDEX jobs_unique_key_pending_idx ON jobs (unique_key)
    WHERE unique_key IS NOT NULL AND status IN ('queued', 'running');

DROP INDEX jobs_ready_idx;
CREATE INDEX jobs_ready_idx ON jobs (priority DESC, run_at, id) WHERE status = 'queued';
CREATE INDEX jobs_lease_idx ON jobs (locked_until) WHERE status = 'running';
CREATE INDEX jobs_finished_idx ON jobs (finished_at) WHERE finished_at IS NOT NULL;
