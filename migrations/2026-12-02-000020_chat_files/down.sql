DROP INDEX files_chat_id_idx;
ALTER TABLE files DROP COLUMN chat_id;
