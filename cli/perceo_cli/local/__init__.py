"""Running Perceo on one machine: the embedded store (a FalkorDB server under `.perceo/data/`) and the local cloud
(the template's API through a local API Gateway, moto, Step Functions executed with the real handlers).

Development and CLI tools only: nothing here ships in the Lambda layer, and nothing in the layer imports it.
"""
