"""Features, one module each, platform-neutral: an Incoming in, Outgoing messages back.

The kernel the features share: core (one update, one transaction), router (who handles it),
context (what a feature sees), messages (Incoming/Outgoing), payloads (typed button data and
deep-link payloads), rules (the deployment's rules), i18n, errors, forms (every multi-step
dialog), moments and schedules (times), addressing and mentions (who is spoken to), roles,
text and fuzzy (typed words), outbox (what the senders in bot/ deliver). Each other module
is a feature with a `FEATURE` in core.FEATURES, or a part one feature keeps apart (qrcodes
for attendance, needs_import for needs).
"""
