"""Learning: losses, optimizers, initializers, metrics, the training loop and the Model API."""
