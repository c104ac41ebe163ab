DROP TRIGGER jobs_changed_notify ON jobs;
DROP FUNCTION chatgraph_job_changed();
