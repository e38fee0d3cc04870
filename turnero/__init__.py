"""The heart of the appliance: store, engine, policy, events and estimates."""
