"""Images for the real node, built here without Docker or a registry.

By job: `dockerfile` (parse the Dockerfile subset, pure), `layers` (the step cache and the build lock),
`debian` (the FROM base from debootstrap), `builder` (follow a Dockerfile step by step), `oci` (write an
OCI image archive), `store` (the machine's built archives and their import into containerd) and
`recipes` (what raykube builds from `images/`, a table of recipes plus Ray's tag planning).
"""
