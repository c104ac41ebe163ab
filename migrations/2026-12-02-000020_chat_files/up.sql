-- A file uploaded for a chat belongs to that chat: it is seen exactly as the chat is (a
-- private chat's files only by its owner), and goes with it.
ALTER TABLE files ADD COLUMN chat_id uuid REFERENCES chats (id) ON DELETE CASCADE;
CREATE INDEX files_chat_id_idx ON files (chat_id);
