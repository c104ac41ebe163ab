-- Extensions and helpers every later migration uses.
CREATE EXTENSION IF NOT EXISTS vector;

-- Keeps updated_at current on every UPDATE that does not set it itself.
CREATE FUNCTION chatgraph_set_updated_at() RETURNS trigger AS $$
BEGIN
    IF NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at THEN
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

-- Attaches chatgraph_set_updated_at to a table (called once per mutable table).
CREATE FUNCTION chatgraph_manage_updated_at(_tbl regclass) RETURNS void AS $$
BEGIN
    EXECUTE format('CREATE TRIGGER set_updated_at BEFORE UPDATE ON %s
                    FOR EACH ROW EXECUTE FUNCTION chatgraph_set_updated_at()', _tbl);
END;
$$ LANGUAGE plpgsql;
