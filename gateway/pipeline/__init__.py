"""The request pipeline: a shared context, the reply types, and the stage runner."""
