"""The minimal Keystone v3 the `mistral` CLI logs in with (app/resources/security.py)."""

from __future__ import annotations

from marshmallow import INCLUDE, Schema, fields


class KeystoneUserSchema(Schema):
    class Meta:
        unknown = INCLUDE

    name = fields.String(metadata={"description": "User name (the token's name)."})
    password = fields.String(metadata={"description": "An API token."})


class KeystonePasswordSchema(Schema):
    class Meta:
        unknown = INCLUDE

    user = fields.Nested(KeystoneUserSchema)


class KeystoneTokenIdSchema(Schema):
    class Meta:
        unknown = INCLUDE

    id = fields.String(metadata={"description": "An API token."})


class KeystoneIdentitySchema(Schema):
    class Meta:
        unknown = INCLUDE

    methods = fields.List(fields.String(metadata={"enum": ["password", "token"]}))
    password = fields.Nested(KeystonePasswordSchema)
    token = fields.Nested(KeystoneTokenIdSchema)


class KeystoneAuthSchema(Schema):
    class Meta:
        unknown = INCLUDE

    identity = fields.Nested(KeystoneIdentitySchema)


class KeystoneAuthRequestSchema(Schema):
    class Meta:
        unknown = INCLUDE

    auth = fields.Nested(KeystoneAuthSchema, required=True)


class KeystoneVersionSchema(Schema):
    version = fields.Dict(required=True, metadata={"description": "Keystone's v3 version document."})


class KeystoneTokenSchema(Schema):
    token = fields.Dict(required=True, metadata={
        "description": "The token's user, project, roles and a catalog pointing at this service's `/v2`."})
