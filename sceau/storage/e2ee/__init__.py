"""Storage for end-to-end encryption: keys, to-device inboxes, device lists, backups."""
