DROP TABLE jobs;
DROP TABLE webhook_subscriptions;
DROP TABLE analytics_events;
DROP TABLE error_logs;
DROP TABLE audit_logs;
DROP TABLE usage_events;
