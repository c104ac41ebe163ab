DROP TRIGGER audit_logs_append_only ON audit_logs;
DROP FUNCTION chatgraph_audit_logs_append_only();
