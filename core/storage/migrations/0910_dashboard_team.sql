-- Team members and password links (issue 22). A merchant user has a role within its merchant's
-- team (owner, admin, developer, viewer; the permission table is core/dashboard/permissions.py);
-- the merchant users that existed before become owners. An invited user has no password until it
-- uses its link. `session_epoch` grows when a user's sessions must all end (disable, password reset):
-- a session started under an older epoch is refused.
ALTER TABLE dashboard_users
    ADD COLUMN team_role text CHECK (team_role IN ('owner', 'admin', 'developer', 'viewer')),
    ADD COLUMN session_epoch integer NOT NULL DEFAULT 0,
    ALTER COLUMN password_hash DROP NOT NULL;
UPDATE dashboard_users SET team_role = 'owner' WHERE role = 'merchant';
ALTER TABLE dashboard_users
    ADD CONSTRAINT dashboard_users_team_role_of_merchant_users CHECK ((role = 'merchant') = (team_role IS NOT NULL));

-- One-time links that set a password: an invite or a reset. Only a SHA-256 of the token is kept.
CREATE TABLE dashboard_password_links (
    token_hash text PRIMARY KEY,
    user_id text NOT NULL REFERENCES dashboard_users (id),
    purpose text NOT NULL CHECK (purpose IN ('invite', 'reset')),
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dashboard_password_links_user ON dashboard_password_links (user_id) WHERE used_at IS NULL;
