"""STS: AssumeRoleWithWebIdentity, AssumeRole, GetCallerIdentity and temporary credentials."""
