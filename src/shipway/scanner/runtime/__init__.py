"""The runtime scanner's parts: which released services to probe (`endpoints`), and the
probes: HTTP security headers, TLS, and listening ports."""
