"""What pages and the API share to answer a request: request middleware, caches of what a person
sees, list filters and paging, and the read models of the review page, activity and metrics."""
