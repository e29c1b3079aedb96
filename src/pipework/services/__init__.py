"""One package per AWS API the server speaks; each turns operations into calls on the app and engine."""
