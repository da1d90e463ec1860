"""Use cases. Every change to the data goes through a function here, inside a UnitOfWork."""
