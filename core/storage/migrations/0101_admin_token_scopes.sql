-- Admin tokens get scopes and an optional expiry (issue 17). Tokens made before keep full scope.
ALTER TABLE admin_tokens
    ADD COLUMN scopes text[] NOT NULL DEFAULT '{read,write,ops}'
        CHECK (scopes <@ ARRAY['read', 'write', 'ops']::text[] AND cardinality(scopes) > 0),
    ADD COLUMN expires_at timestamptz;
