DROP FUNCTION chatgraph_manage_updated_at(regclass);
DROP FUNCTION chatgraph_set_updated_at();
DROP EXTENSION IF EXISTS vector;
