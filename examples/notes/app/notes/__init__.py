"""notes: the example application that shipway deploys (examples/notes).

A small but real web service: a JSON API and an HTML page over one table of notes,
with a health check, Prometheus metrics, JSON access logs and an OpenAPI document.
`notes.app` is the entry point; see its docstring for the command line and environment.
"""
