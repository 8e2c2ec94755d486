-- A dashboard user's colour theme (issue 22): auto follows the browser's prefers-color-scheme.
ALTER TABLE dashboard_users
    ADD COLUMN theme text NOT NULL DEFAULT 'auto' CHECK (theme IN ('auto', 'light', 'dark'));
