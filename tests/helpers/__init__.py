"""What tests share besides fixtures (those live in conftest.py files, and only there).

factories.py       users, teams, registered repositories, releases made through the workflow
release_steps.py   a release's steps as people and workers take them (tick, submit, scans, what ships)
release_states.py  releases in every state a person meets (the abilities matrix)
api.py             an API client for a user, release URLs, the error format
broker.py          the broker, replaced: what the outbox sends, by task name
git.py             small git repositories with real commits and trees
providers.py       GitHub, GitLab and Slack on 127.0.0.1
identity_provider.py  a real OpenID Connect provider process (Node.js)
processes.py       workers, gunicorn, a private Redis, a local endpoint, Django in a fresh process
browser.py         signing in and out in Chromium
secret_corpus.py   the labelled corpus of the secrets scanner, generated at run time
"""
