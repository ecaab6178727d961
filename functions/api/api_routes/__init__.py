"""The API's routes: one Router per resource, and what they share (parameters, the caller,
the use cases). app.py joins them into the resolver."""
