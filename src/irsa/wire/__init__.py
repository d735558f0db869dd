"""AWS wire protocols, driven by the service models that ship inside botocore.

* ``irsa.wire.query``     Query protocol (IAM, STS): form parsing, operation input, XML output, errors
* ``irsa.wire.restjson``  REST-JSON protocol (EKS): routing, input, JSON output, errors
* ``irsa.wire.sigv4``     SigV4 verification (stdlib only): header and presigned-query auth
* ``irsa.wire.validation`` model constraints -> AWS's ``N validation error(s) detected`` text
* ``irsa.wire.javaregex`` Java model patterns -> Python ``re``

Submodules are imported explicitly so that ``sigv4`` users do not pay for loading botocore.
"""
