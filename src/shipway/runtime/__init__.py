"""Where deployments and services run: the local agent."""
