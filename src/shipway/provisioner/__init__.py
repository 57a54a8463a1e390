"""ResourceProvisioner: plan / apply / destroy / drift / import of the manifest's resources.

Each resource type is a `Provider` (`provisioner/providers/interface.py`) in its own module under
`provisioner/providers/`, registered by type name in `provisioner/providers/__init__.py`.
"""
