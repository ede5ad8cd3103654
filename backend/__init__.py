"""walrus-evm backend: protocol core, chain bindings, SDK, HTTP API and CLI."""
