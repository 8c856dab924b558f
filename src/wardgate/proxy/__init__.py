"""Ingress: routes, body limits, strict JSON intake, header hygiene and the relay."""
