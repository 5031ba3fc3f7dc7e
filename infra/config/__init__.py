"""The stack-config package: schema, typed reader, one module per group, the one loader."""
