DROP TABLE rate_limit_counters;
DROP TABLE project_quotas;
DROP TABLE project_settings;
DROP TABLE project_members;
DROP TABLE projects;
