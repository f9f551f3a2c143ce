"""Repository access, workers only: locations, the address guard, git plumbing, commit ranges."""
