"""The run directory at the bottom layer: the names of its files (:mod:`runfiles.layout`), the typed records of
``estimates.json`` and ``verify.json`` (:mod:`runfiles.records`), and the one atomic-write helper with the
owned-file manifests (:mod:`runfiles.outputs`); and the progress heartbeat of a call that cannot report itself
(:mod:`runfiles.progress`).

Every package (training, hwsim, verify, hls, reports, the CLI in ``dybnn``) may import it; it imports none of
them (the standard library and numpy only).
"""
