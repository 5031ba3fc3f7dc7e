"""The stack tags this project sets on Pulumi stacks, named once.

preview-env.yml records the first three before `pulumi up` (infra.lifecycle.ephemeral.stack_tags);
teardown sets the last when Azure still holds the apps subnet (infra.lifecycle.destroy_retry), and
the sweeper resumes every stack that carries it. Tags survive `pulumi destroy`.
"""

TAG_LIFECYCLE = "liveness:lifecycle"
TAG_ACCOUNT_ID = "liveness:faceAccountId"
TAG_LOCATION = "liveness:faceLocation"
TAG_TEARDOWN_PENDING = "liveness:teardownPending"
