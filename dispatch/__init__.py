"""dispatch: field-operations dispatch for plain-clothes deployments."""
