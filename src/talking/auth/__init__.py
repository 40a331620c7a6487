"""Staff accounts: roles, passwords, sessions, API tokens, and the guards that use them."""
