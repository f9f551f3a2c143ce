"""What a change causes once it commits: tasks, emails and webhooks, all sent through outbox.py."""
