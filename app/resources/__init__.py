"""One module per REST resource of the API v2."""
