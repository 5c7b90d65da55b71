"""Use cases: each runs the domain rules inside the caller's transaction and returns a
`Result`: a private reply plus the chat effects to run once the transaction commits."""
