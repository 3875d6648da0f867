"""Accounts (users, bearer tokens) and the access register (利用登记), kept in the state database."""
