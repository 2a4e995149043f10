"""HTTP and WebSocket handlers of the simulator, one module per area."""
