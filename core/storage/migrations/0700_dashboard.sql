-- People who sign in to the dashboard (frontend role). A merchant user sees only its merchant;
-- an admin has no merchant. Passwords are stored only as scrypt hashes with a per-user salt.
CREATE TABLE dashboard_users (
    id text PRIMARY KEY,
    email text NOT NULL UNIQUE CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
    password_hash text NOT NULL,
    role text NOT NULL CHECK (role IN ('merchant', 'admin')),
    merchant_id text REFERENCES merchants (id),
    disabled boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((role = 'merchant') = (merchant_id IS NOT NULL))
);
