"""What an action execution's ``worker_id`` holds besides the id of the worker running it."""

# An async action whose request was sent: only its callback or its task's timeout completes it.
DELIVERED = "delivered"
# An async action whose request is being sent: the same, for the third party may already hold it.
SENDING = "sending"
