"""The server-rendered dashboard of the frontend role: users, sessions, pages, branding."""
