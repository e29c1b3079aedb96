"""One package per AWS API the server speaks; each turns operations into calls on the store, engine and connectors.
`pipework.app.Pipework.open` builds them, each with its typed collaborators."""
