"""Where dealership events come in: the webhook receiver, the RabbitMQ bridge, and the inbox both write to."""
