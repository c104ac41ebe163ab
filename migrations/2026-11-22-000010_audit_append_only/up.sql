-- The audit trail is append-only: no row is deleted, and the only change a row may undergo is
-- a reference set to NULL by its foreign key's ON DELETE SET NULL when the organization,
-- project, user or API token it mentions is purged (the trail outlives what it mentions).
CREATE FUNCTION chatgraph_audit_logs_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'audit_logs rows cannot be deleted'
            USING ERRCODE = 'insufficient_privilege', CONSTRAINT = 'audit_logs_append_only';
    END IF;
    IF (NEW.id, NEW.action, NEW.resource_type, NEW.resource_id, NEW.details, NEW.ip_address,
        NEW.user_agent, NEW.status, NEW.error_message, NEW.created_at)
       IS DISTINCT FROM
       (OLD.id, OLD.action, OLD.resource_type, OLD.resource_id, OLD.details, OLD.ip_address,
        OLD.user_agent, OLD.status, OLD.error_message, OLD.created_at)
       OR (NEW.organization_id IS NOT NULL AND NEW.organization_id IS DISTINCT FROM OLD.organization_id)
       OR (NEW.project_id IS NOT NULL AND NEW.project_id IS DISTINCT FROM OLD.project_id)
       OR (NEW.actor_user_id IS NOT NULL AND NEW.actor_user_id IS DISTINCT FROM OLD.actor_user_id)
       OR (NEW.api_token_id IS NOT NULL AND NEW.api_token_id IS DISTINCT FROM OLD.api_token_id)
    THEN
        RAISE EXCEPTION 'audit_logs rows cannot be changed'
            USING ERRCODE = 'insufficient_privilege', CONSTRAINT = 'audit_logs_append_only';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER audit_logs_append_only
    BEFORE UPDATE OR DELETE ON audit_logs
    FOR EACH ROW EXECUTE FUNCTION chatgraph_audit_logs_append_only();
