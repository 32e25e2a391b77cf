"""Code both services share: configuration, logging, HTTP errors and the Redis contract."""
