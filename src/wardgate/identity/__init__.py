"""Identity: virtual keys, OIDC/JWT, roles and workspaces."""
