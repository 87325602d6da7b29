"""Blue-green releases of NEOSALE on Kubernetes, through Argo Rollouts.

The manifests (deploy/kubernetes) define the Rollouts, their Services and the
smoke analysis; a release here is the same recipe as on a docker host: lock,
ledger, production backup, migrations once, then the new digests on both
Rollouts, whose promotion Argo gates with the smoke analysis and aborts on
failure. The API is reached with httpx (api.py): tests swap its transport.
"""
