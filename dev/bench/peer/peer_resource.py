"""The peer of `make bench`: a custom resource written the way most Python ones are, crhelper
with a boto3 client made at import time, answering the same cheap Delete the functions answer
(an id it did not make: nothing to do, SUCCESS)."""

import json

import boto3
from crhelper import CfnResource

# crhelper's default waits 120 s before answering a Delete; no real resource needs it here.
helper = CfnResource(json_logging=False, log_level="INFO", boto_level="CRITICAL", sleep_on_delete=0)
iam = boto3.client("iam")


@helper.create
@helper.update
def create_or_update(event, _context):
    raise ValueError("the benchmark sends only Deletes")


@helper.delete
def delete(event, _context):
    if not event["PhysicalResourceId"].startswith("arn:"):
        return  # not a provider this resource made: nothing to delete
    iam.delete_saml_provider(SAMLProviderArn=event["PhysicalResourceId"])


def handler(event, context):
    # The local Runtime API stand-in sends no JSON Content-Type, so awslambdaric hands over bytes.
    if isinstance(event, (bytes, bytearray)):
        event = json.loads(event)
    helper(event, context)
