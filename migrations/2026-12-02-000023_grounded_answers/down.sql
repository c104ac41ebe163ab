DROP TABLE message_citations;
DROP TABLE assistant_datasources;
