"""Features, one module each, platform-neutral: an Incoming in, Outgoing messages back."""
