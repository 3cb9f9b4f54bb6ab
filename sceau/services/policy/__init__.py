"""The state's rules (the config's ``policy`` section): who registers where, password rules,
identities derived from email addresses. See docs/policy.md."""
