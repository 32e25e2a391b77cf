"""Cloud Pub/Sub interceptor: receives Dialogflow notifications pushed by Pub/Sub and stores
and publishes each one in Redis, keyed by conversation. The app factory is
``cloud_pubsub_interceptor.app.create_app``."""
