"""The rules' read side: may this person do this, and if not, why? Nothing here writes."""
