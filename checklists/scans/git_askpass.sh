#!/bin/sh
# GIT_ASKPASS helper: answers git's prompts from the worker's environment only.
case "$1" in
  Username*) printf '%s\n' "${RELEASEGATE_GIT_USERNAME:-x-access-token}" ;;
  *) printf '%s\n' "${RELEASEGATE_GIT_TOKEN:-}" ;;
esac
