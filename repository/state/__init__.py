"""The state database: accounts, tokens, jobs and the access register, kept apart from the catalogue cache."""
