-- Back to the function of migration 10, then without the column.
CREATE OR REPLACE FUNCTION chatgraph_audit_logs_append_only() RETURNS trigger
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

DROP INDEX audit_logs_chat_idx;
ALTER TABLE audit_logs DROP COLUMN chat_id;
