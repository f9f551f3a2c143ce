#!/bin/sh
# GIT_ASKPASS helper: answers git's credential prompts for one host only, the host of the
# repository being fetched (RELEASEGATE_GIT_HOST, set by checklists/git/repo.py per fetch).
# Any other prompt (another host after a redirect, a different user) gets nothing.
# Host and user name are checked before they get here (letters, digits, . - : only), so
# they hold no pattern characters.
case "$1" in
  "Username for 'https://${RELEASEGATE_GIT_HOST}': ")
    printf '%s\n' "${RELEASEGATE_GIT_USERNAME}" ;;
  "Password for 'https://${RELEASEGATE_GIT_USERNAME}@${RELEASEGATE_GIT_HOST}': ")
    printf '%s\n' "${RELEASEGATE_GIT_TOKEN}" ;;
  *) exit 1 ;;
esac
