"""Cloud workflows (Step Functions): clone safety, the bundle and progress stores, the task steps and the
service that starts executions and reports their status.

The steps are thin wrappers over the same domain functions `perceo init` runs in-process
(`perceo.bootstrap.pipeline`); state that must outlive one Lambda goes to S3 (the bundle), progress to Redis.
"""
