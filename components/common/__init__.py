"""Cloud-neutral, pure code: no Pulumi resources, no cloud calls, tested without mocks.

Cloud-init rendering, names, tags, image-source hashes, Packer output parsing,
the serving contract with the image, rollout waves and the health gate's URL
and command. The program's components, the local bake (``images/local``) and
the offline tools import it alike.
"""
