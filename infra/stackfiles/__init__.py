"""Stack files: reading stacks/Pulumi.<stack>.yaml as Pulumi does, stack names and templates."""
