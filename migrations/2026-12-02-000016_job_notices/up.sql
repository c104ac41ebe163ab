-- Every change of a project's job (queued, claimed, progress, ended) is announced on the
-- `chatgraph` channel at commit, whichever statement made it, for the `jobUpdated`
-- subscription (src/pubsub.rs: `jc:<job id>:<project id>`).
CREATE FUNCTION chatgraph_job_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('chatgraph', 'jc:' || NEW.id || ':' || NEW.project_id);
    RETURN NULL;
END
$$;

CREATE TRIGGER jobs_changed_notify
    AFTER INSERT OR UPDATE OF status, progress, attempts ON jobs
    FOR EACH ROW WHEN (NEW.project_id IS NOT NULL)
    EXECUTE FUNCTION chatgraph_job_changed();
