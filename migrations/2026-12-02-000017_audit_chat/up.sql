-- The chat an audit record concerns, when it concerns one (a chat, one of its messages, an
-- artifact made in it, a file attached to it): the record's resource id and details name
-- things of that chat, so they are shown only to those who may read the chat (a private
-- chat's ids are not for the project's admins). Not a foreign key: the trail outlives chats.
ALTER TABLE audit_logs ADD COLUMN chat_id uuid;

-- Records written before this migration: chats named as the resource, and messages.
UPDATE audit_logs SET chat_id = resource_id::uuid
    WHERE resource_type = 'chat' AND resource_id ~ '^[0-9a-f-]{36}$';
UPDATE audit_logs a SET chat_id = m.chat_id FROM messages m
    WHERE a.resource_type = 'message' AND a.resource_id = m.id::text;

CREATE INDEX audit_logs_chat_idx ON audit_logs (chat_id) WHERE chat_id IS NOT NULL;

-- The new column is as unchangeable as the others.
CREATE OR REPLACE FUNCTION chatgraph_audit_logs_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'audit_logs rows cannot be deleted'
            USING ERRCODE = 'insufficient_privilege', CONSTRAINT = 'audit_logs_append_only';
    END IF;
    IF (NEW.id, NEW.action, NEW.resource_type, NEW.resource_id, NEW.details, NEW.ip_address,
        NEW.user_agent, NEW.status, NEW.error_message, NEW.created_at, NEW.chat_id)
       IS DISTINCT FROM
       (OLD.id, OLD.action, OLD.resource_type, OLD.resource_id, OLD.details, OLD.ip_address,
        OLD.user_agent, OLD.status, OLD.error_message, OLD.created_at, OLD.chat_id)
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
